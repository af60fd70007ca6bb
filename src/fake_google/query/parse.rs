//! Lexer and recursive-descent parser for Gmail's `q` language, producing
//! the expression tree that [`super::Query`] evaluates. Grammar (Gmail's
//! precedence: `OR` binds tighter than the implicit AND of juxtaposition):
//!
//! ```text
//! and     := or*                      (`AND` keywords are skipped)
//! or      := unary ("OR" unary)*
//! unary   := "-" unary | primary
//! primary := "(" and ")" | "{" unary* "}" | op ":" value | word | "quoted"
//! value   := word | "quoted" | "(" and ")" | "{" unary* "}"   (op applies inside)
//! ```

use super::terms::{make_term, Expr, KNOWN_OPS};

/// Groups nested deeper than this are refused rather than recursed into.
const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Neg,
    Or,
    And,
    Field(String),
    Word(String),
    Quoted(String),
}

fn is_special(c: char) -> bool {
    matches!(c, '(' | ')' | '{' | '}' | '"')
}

fn lex(q: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = q.char_indices().peekable();
    let mut term_start = true;
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
                term_start = true;
                continue;
            }
            '(' | ')' | '{' | '}' => {
                chars.next();
                toks.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '{' => Tok::LBrace,
                    _ => Tok::RBrace,
                });
                term_start = c == '(' || c == '{';
                continue;
            }
            '"' => {
                chars.next();
                let rest = &q[i + 1..];
                let Some(end) = rest.find('"') else {
                    return Err("unbalanced quote in query".into());
                };
                toks.push(Tok::Quoted(rest[..end].to_string()));
                while chars.peek().is_some_and(|&(j, _)| j <= i + 1 + end) {
                    chars.next();
                }
            }
            '-' if term_start
                && q[i + 1..]
                    .chars()
                    .next()
                    .is_some_and(|n| !n.is_whitespace() && n != ')' && n != '}') =>
            {
                chars.next();
                toks.push(Tok::Neg);
                continue;
            }
            _ => {
                let mut end = q.len();
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || is_special(c) {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                push_word(&mut toks, &q[i..end]);
            }
        }
        term_start = false;
    }
    Ok(toks)
}

fn push_word(toks: &mut Vec<Tok>, word: &str) {
    match word {
        "OR" | "|" => return toks.push(Tok::Or),
        "AND" => return toks.push(Tok::And),
        _ => {}
    }
    if let Some((op, rest)) = word.split_once(':') {
        let op = op.to_ascii_lowercase();
        if KNOWN_OPS.contains(&op.as_str()) {
            toks.push(Tok::Field(op));
            if !rest.is_empty() {
                toks.push(Tok::Word(rest.to_string()));
            }
            return;
        }
    }
    toks.push(Tok::Word(word.to_string()));
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    now_ms: Option<i64>,
}

/// Parse `q` into an expression (`None` = the empty query, which matches all).
pub(super) fn parse_expr(q: &str, now_ms: Option<i64>) -> Result<Option<Expr>, String> {
    let toks = lex(q)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        now_ms,
    };
    let e = p.and(None, None)?;
    match p.peek() {
        None => Ok(Some(e)),
        Some(Tok::RParen) | Some(Tok::RBrace) => Err("unbalanced closing bracket in query".into()),
        Some(t) => Err(format!("unexpected {t:?} in query")),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!("query nests deeper than {MAX_NESTING} levels"));
        }
        Ok(())
    }

    fn and(&mut self, close: Option<Tok>, op: Option<&str>) -> Result<Expr, String> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None => break,
                Some(t) if Some(t) == close.as_ref() => break,
                Some(Tok::And) => {
                    self.pos += 1;
                }
                Some(_) => items.push(self.or(op)?),
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn or(&mut self, op: Option<&str>) -> Result<Expr, String> {
        if self.peek() == Some(&Tok::Or) {
            return Err("OR needs a term on its left".into());
        }
        let mut items = vec![self.unary(op)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            match self.peek() {
                None | Some(Tok::RParen) | Some(Tok::RBrace) | Some(Tok::Or) | Some(Tok::And) => {
                    return Err("OR needs a term on its right".into())
                }
                Some(_) => items.push(self.unary(op)?),
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn unary(&mut self, op: Option<&str>) -> Result<Expr, String> {
        if self.peek() == Some(&Tok::Neg) {
            self.pos += 1;
            self.enter()?;
            let inner = self.unary(op)?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary(op)
    }

    fn primary(&mut self, op: Option<&str>) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::LParen) => self.group(op),
            Some(Tok::LBrace) => self.any_of(op),
            Some(Tok::Field(field)) => match self.next() {
                Some(Tok::Word(w)) => make_term(Some(&field), &w, false, self.now_ms),
                Some(Tok::Quoted(q)) => make_term(Some(&field), &q, true, self.now_ms),
                Some(Tok::LParen) => self.group(Some(&field)),
                Some(Tok::LBrace) => self.any_of(Some(&field)),
                _ => Err(format!("{field}: needs a value")),
            },
            Some(Tok::Word(w)) => make_term(op, &w, false, self.now_ms),
            Some(Tok::Quoted(q)) => make_term(op, &q, true, self.now_ms),
            Some(Tok::RParen) | Some(Tok::RBrace) => {
                Err("unbalanced closing bracket in query".into())
            }
            Some(t) => Err(format!("unexpected {t:?} in query")),
            None => Err("query ends where a term was expected".into()),
        }
    }

    fn group(&mut self, op: Option<&str>) -> Result<Expr, String> {
        self.enter()?;
        let e = self.and(Some(Tok::RParen), op)?;
        if self.next() != Some(Tok::RParen) {
            return Err("unbalanced parenthesis in query".into());
        }
        self.depth -= 1;
        Ok(e)
    }

    fn any_of(&mut self, op: Option<&str>) -> Result<Expr, String> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unbalanced brace in query".into()),
                Some(Tok::RBrace) => break,
                Some(Tok::Or) | Some(Tok::And) => self.pos += 1,
                Some(_) => items.push(self.unary(op)?),
            }
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(Expr::Or(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexer_splits_fields_negations_and_quotes() {
        let toks = lex(r#"-from:a@b.c "x y" (q OR r) {s t} foo-bar http://x"#).unwrap();
        assert_eq!(
            toks,
            vec![
                Tok::Neg,
                Tok::Field("from".into()),
                Tok::Word("a@b.c".into()),
                Tok::Quoted("x y".into()),
                Tok::LParen,
                Tok::Word("q".into()),
                Tok::Or,
                Tok::Word("r".into()),
                Tok::RParen,
                Tok::LBrace,
                Tok::Word("s".into()),
                Tok::Word("t".into()),
                Tok::RBrace,
                Tok::Word("foo-bar".into()),
                Tok::Word("http://x".into()),
            ]
        );
    }
}
