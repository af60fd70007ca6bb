//! RFC 822 rendering for the ground-truth world: header encoders (RFC 2047
//! words, folded References), text bodies in 7bit, 8bit, quoted-printable
//! or base64, an optional HTML alternative and base64 attachments, all with
//! CRLF line ends. Written independently of the crate's parser so the truth
//! never depends on the code under test.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// How the text/plain part is transferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEnc {
    SevenBit,
    EightBit,
    QuotedPrintable,
    Base64,
}

/// One attachment part (always base64).
#[derive(Debug, Clone)]
pub struct Part {
    pub filename: String,
    pub mime_type: String,
    pub content: std::sync::Arc<Vec<u8>>,
}

/// Everything needed to render one email.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Top-level headers in order, values already encoded.
    pub headers: Vec<(String, String)>,
    /// Rendered right after the first three headers, only in the sender's copy.
    pub bcc: Option<String>,
    /// Decoded text, lines joined with `\n`.
    pub text: String,
    pub text_enc: TextEnc,
    pub html: Option<String>,
    pub attachments: Vec<Part>,
    /// Unique per email; boundaries derive from it.
    pub tag: String,
}

/// The raw bytes; `with_bcc` for the sender's own copy.
pub fn render(mail: &Mail, with_bcc: bool) -> Vec<u8> {
    let mut out = String::new();
    for (n, (name, value)) in mail.headers.iter().enumerate() {
        if n == 3 && with_bcc {
            push_bcc(&mut out, mail);
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if mail.headers.len() <= 3 && with_bcc {
        push_bcc(&mut out, mail);
    }
    out.push_str("MIME-Version: 1.0\r\n");
    let body = if mail.attachments.is_empty() {
        main_part(mail)
    } else {
        let b = format!("=_mixed_{}", mail.tag);
        let mut s = format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n");
        s.push_str("This is a multi-part message in MIME format.\r\n");
        s.push_str(&format!("--{b}\r\n{}", main_part(mail)));
        for a in &mail.attachments {
            s.push_str(&format!("\r\n--{b}\r\n{}", attachment(a)));
        }
        s.push_str(&format!("\r\n--{b}--\r\n"));
        s
    };
    out.push_str(&body);
    out.into_bytes()
}

fn push_bcc(out: &mut String, mail: &Mail) {
    if let Some(b) = &mail.bcc {
        out.push_str(&format!("Bcc: {b}\r\n"));
    }
}

/// Headers + body of the text part, or of a multipart/alternative.
fn main_part(mail: &Mail) -> String {
    let Some(html) = &mail.html else {
        return text_part(&mail.text, mail.text_enc);
    };
    let b = format!("=_alt_{}", mail.tag);
    let html_body = crlf(html);
    format!(
        "Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n--{b}\r\n{}\r\n--{b}\r\n\
         Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         {}\r\n--{b}--\r\n",
        text_part(&mail.text, mail.text_enc),
        quoted_printable(&html_body),
    )
}

fn text_part(text: &str, enc: TextEnc) -> String {
    let body = crlf(text);
    let (charset, cte, data) = match enc {
        TextEnc::SevenBit => ("us-ascii", "7bit", body),
        TextEnc::EightBit => ("utf-8", "8bit", body),
        TextEnc::QuotedPrintable => ("utf-8", "quoted-printable", quoted_printable(&body)),
        TextEnc::Base64 => ("utf-8", "base64", base64_lines(body.as_bytes())),
    };
    format!(
        "Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{data}\r\n"
    )
}

fn attachment(a: &Part) -> String {
    format!(
        "Content-Type: {}; name=\"{}\"\r\nContent-Disposition: attachment; filename=\"{}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        a.mime_type,
        a.filename,
        a.filename,
        base64_lines(&a.content)
    )
}

fn crlf(s: &str) -> String {
    s.split('\n').collect::<Vec<_>>().join("\r\n")
}

/// Base64 wrapped at 76 columns, CRLF between lines.
pub fn base64_lines(data: &[u8]) -> String {
    let enc = STANDARD.encode(data);
    let lines: Vec<&str> = enc
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    lines.join("\r\n")
}

/// RFC 2045 quoted-printable of CRLF-separated text (hard breaks kept,
/// soft breaks at 76 columns, trailing blanks encoded).
pub fn quoted_printable(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.split("\r\n") {
        let bytes = line.as_bytes();
        let mut cur = String::new();
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let plain = (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let tok = if plain {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if cur.len() + tok.len() > 75 {
                out.push(format!("{cur}="));
                cur.clear();
            }
            cur.push_str(&tok);
        }
        out.push(cur);
    }
    out.join("\r\n")
}

/// One RFC 2047 B-encoded word (UTF-8); callers keep `s` short.
pub fn word_b(s: &str) -> String {
    format!("=?UTF-8?B?{}?=", STANDARD.encode(s.as_bytes()))
}

/// One RFC 2047 Q-encoded word (UTF-8).
pub fn word_q(s: &str) -> String {
    let mut out = String::from("=?UTF-8?Q?");
    for &b in s.as_bytes() {
        match b {
            b' ' => out.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'!' | b'*' | b'+' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out.push_str("?=");
    out
}

/// `Name <addr>` with the name quoted or encoded as needed; bare otherwise.
pub fn mailbox(name: Option<&str>, addr: &str, style: u8) -> String {
    match name {
        None => addr.to_string(),
        Some(n) if !n.is_ascii() => {
            let w = if style.is_multiple_of(2) {
                word_b(n)
            } else {
                word_q(n)
            };
            format!("{w} <{addr}>")
        }
        Some(n)
            if n.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
                && !style.is_multiple_of(3) =>
        {
            format!("{n} <{addr}>")
        }
        Some(n) => format!(
            "\"{}\" <{addr}>",
            n.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    }
}

/// `<a>` ids folded one per line, as long References headers are.
pub fn id_list(ids: &[String]) -> String {
    let v: Vec<String> = ids.iter().map(|i| format!("<{i}>")).collect();
    v.join("\r\n ")
}
