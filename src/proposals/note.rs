//! The deterministic proposed note (SPEC §7): direction, counterpart,
//! subject and the first lines of the email. Pure text work; the store
//! calls it while creating a proposal, so it must never fail and never
//! depend on anything but its input (the same email gives the same note).

/// Lines of the email kept in a note.
const MAX_LINES: usize = 3;
/// Characters of those lines kept, at most (then an ellipsis).
const MAX_EXCERPT_CHARS: usize = 280;
/// Characters of a subject or name kept, at most.
const MAX_FIELD_CHARS: usize = 200;

/// What a note is written from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteFacts<'a> {
    pub outbound: bool,
    pub counterpart_name: &'a str,
    pub counterpart_address: &'a str,
    /// The investor's matched address when it is not the counterpart
    /// (inbound mail from a third party with the investor in copy).
    pub investor_address: Option<&'a str>,
    pub subject: &'a str,
    /// The stored plain-text body, if any (matched email gets one later).
    pub body_text: Option<&'a str>,
    /// Gmail's snippet: the fallback when there is no usable body.
    pub snippet: &'a str,
}

/// `Inbound email from Jo <jo@acme.vc>` / `Subject: …` / first lines.
pub fn deterministic(f: &NoteFacts<'_>) -> String {
    let (dir, prep) = if f.outbound {
        ("Outbound", "to")
    } else {
        ("Inbound", "from")
    };
    let mut note = format!("{dir} email {prep} {}", counterpart(f));
    if let Some(inv) = f.investor_address.map(one_line).filter(|a| !a.is_empty()) {
        note.push_str(", with ");
        note.push_str(&inv);
    }
    let subject = truncate(&one_line(f.subject), MAX_FIELD_CHARS);
    note.push_str("\nSubject: ");
    note.push_str(if subject.is_empty() {
        "(no subject)"
    } else {
        &subject
    });
    let excerpt = f
        .body_text
        .map(first_lines)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| truncate(&one_line(f.snippet), MAX_EXCERPT_CHARS));
    if !excerpt.is_empty() {
        note.push('\n');
        note.push_str(&excerpt);
    }
    note
}

fn counterpart(f: &NoteFacts<'_>) -> String {
    let name = truncate(&one_line(f.counterpart_name), MAX_FIELD_CHARS);
    let addr = one_line(f.counterpart_address);
    if addr.is_empty() {
        return if name.is_empty() {
            "(unknown)".to_string()
        } else {
            name
        };
    }
    if name.is_empty() || name.eq_ignore_ascii_case(&addr) {
        return addr;
    }
    format!("{name} <{addr}>")
}

/// The first lines a reader would see: blank lines, quoted text (`>`) and
/// everything from a reply header or signature on are left out.
pub fn first_lines(body: &str) -> String {
    let mut lines = Vec::new();
    for raw in body.lines() {
        let line = one_line(raw);
        if is_cut_line(raw.trim(), &line) {
            break;
        }
        if line.is_empty() || line.starts_with('>') {
            continue;
        }
        lines.push(line);
        if lines.len() == MAX_LINES {
            break;
        }
    }
    truncate(&lines.join(" / "), MAX_EXCERPT_CHARS)
}

/// Where the author's own text ends: a signature delimiter, a forwarded
/// or original-message banner, or an "On … wrote:" reply header.
fn is_cut_line(raw: &str, line: &str) -> bool {
    raw == "--"
        || raw == "-- "
        || line.starts_with("-----Original Message")
        || line.starts_with("---------- Forwarded message")
        || (line.starts_with("On ") && line.ends_with("wrote:"))
}

/// Whitespace (including newlines and control characters) collapsed to
/// single spaces, so a header cannot break the note's layout.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max` characters, cut on a char boundary, with `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}…", s[..cut].trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(outbound: bool, body: Option<&'a str>, snippet: &'a str) -> NoteFacts<'a> {
        NoteFacts {
            outbound,
            counterpart_name: "Jo Smith",
            counterpart_address: "jo@acme.vc",
            investor_address: None,
            subject: "Term sheet",
            body_text: body,
            snippet,
        }
    }

    #[test]
    fn notes_say_direction_counterpart_subject_and_first_lines() {
        let cases: Vec<(NoteFacts<'_>, &str)> = vec![
            (
                facts(false, Some("Hi team,\n\nHere it is.\n"), "ignored"),
                "Inbound email from Jo Smith <jo@acme.vc>\nSubject: Term sheet\nHi team, / Here it is.",
            ),
            (
                facts(true, None, "Thanks for the call"),
                "Outbound email to Jo Smith <jo@acme.vc>\nSubject: Term sheet\nThanks for the call",
            ),
            (
                facts(false, Some("   \n\n"), "snippet wins when the body is blank"),
                "Inbound email from Jo Smith <jo@acme.vc>\nSubject: Term sheet\nsnippet wins when the body is blank",
            ),
            (
                facts(false, Some("New text\n> quoted\nmore\nOn Mon, Jo wrote:\n> old"), ""),
                "Inbound email from Jo Smith <jo@acme.vc>\nSubject: Term sheet\nNew text / more",
            ),
            (
                facts(false, Some("one\ntwo\nthree\nfour"), ""),
                "Inbound email from Jo Smith <jo@acme.vc>\nSubject: Term sheet\none / two / three",
            ),
            (
                facts(false, Some("Cheers\n-- \nJo, Partner"), ""),
                "Inbound email from Jo Smith <jo@acme.vc>\nSubject: Term sheet\nCheers",
            ),
            (facts(false, None, ""), "Inbound email from Jo Smith <jo@acme.vc>\nSubject: Term sheet"),
            (
                NoteFacts {
                    counterpart_name: "Pat",
                    counterpart_address: "pat@law.example",
                    investor_address: Some("jo@acme.vc"),
                    ..facts(false, None, "")
                },
                "Inbound email from Pat <pat@law.example>, with jo@acme.vc\nSubject: Term sheet",
            ),
        ];
        for (f, want) in cases {
            assert_eq!(deterministic(&f), want, "{f:?}");
        }
    }

    #[test]
    fn missing_names_subjects_and_hostile_headers_still_read_well() {
        let base = facts(false, None, "");
        let cases = [
            (
                ("", "jo@acme.vc", ""),
                "Inbound email from jo@acme.vc\nSubject: (no subject)",
            ),
            (
                ("JO@ACME.VC", "jo@acme.vc", "x"),
                "Inbound email from jo@acme.vc\nSubject: x",
            ),
            (("", "", "x"), "Inbound email from (unknown)\nSubject: x"),
            (
                ("Jo\r\nBcc: evil", "jo@acme.vc", "a\r\n\tb"),
                "Inbound email from Jo Bcc: evil <jo@acme.vc>\nSubject: a b",
            ),
        ];
        for ((name, addr, subject), want) in cases {
            let f = NoteFacts {
                counterpart_name: name,
                counterpart_address: addr,
                subject,
                ..base
            };
            assert_eq!(deterministic(&f), want);
        }
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let body = "é".repeat(1000);
        let lines = first_lines(&body);
        assert_eq!(lines.chars().count(), MAX_EXCERPT_CHARS + 1);
        assert!(lines.ends_with('…'));
        let f = NoteFacts {
            subject: &body,
            ..facts(false, None, "")
        };
        assert!(deterministic(&f).contains(&format!("{}…", "é".repeat(MAX_FIELD_CHARS))));
    }

    #[test]
    fn the_same_facts_give_the_same_note() {
        let f = facts(true, Some("a\nb"), "s");
        assert_eq!(deterministic(&f), deterministic(&f));
    }
}
