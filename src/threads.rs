//! Cross-mailbox threading helpers (SPEC §5 `email_threads`): subject
//! normalisation for reply/forward prefixes in common languages, and the
//! pure decision whether two emails belong to one thread from their
//! Message-ID, References, In-Reply-To and subject. Gmail's threadId groups
//! within one mailbox; these join the mailboxes. The store wiring calls
//! these; nothing here does I/O.

use std::collections::HashSet;

/// Reply/forward prefixes, lowercase, compared case-insensitively:
/// English, German (AW, WG, Antw), Nordic (SV, VS, VB, VL, Svar), Dutch
/// (Antw, Doorst), Italian (R, RIF, I), Spanish/Portuguese (RV, RE, ENC,
/// RES), French (TR, REF, RÉF), Polish (Odp, PD), Turkish (YNT, İLT),
/// Finnish (VS, VL), Hungarian (VÁ, TOV), Czech (Odp, PŘ), Greek, Hebrew,
/// Chinese.
const PREFIXES: &[&str] = &[
    "re",
    "fwd",
    "fw",
    "fwd",
    "aw",
    "wg",
    "sv",
    "vs",
    "vb",
    "vl",
    "svar",
    "antw",
    "antwort",
    "doorst",
    "ref",
    "réf",
    "rif",
    "r",
    "i",
    "rv",
    "res",
    "enc",
    "tr",
    "odp",
    "pd",
    "ynt",
    "ilt",
    "i̇lt",
    "vá",
    "tov",
    "př",
    "atb",
    "ats",
    "απ",
    "σχετ",
    "πρθ",
    "השב",
    "הועבר",
    "回复",
    "回覆",
    "答复",
    "转发",
    "轉寄",
];
/// A leading `[list-tag]` longer than this is content, not a tag.
const MAX_TAG_CHARS: usize = 40;

/// `s` without leading reply/forward prefixes (any number, with optional
/// `[n]`/`(n)` counters, mixed with `[list-tag]`s), whitespace collapsed and
/// case-folded: the form two subjects are compared in.
pub fn normalize_subject(s: &str) -> String {
    let mut rest = s.trim();
    loop {
        let next = strip_tag(rest).or_else(|| strip_prefix(rest));
        match next {
            Some(r) => rest = r.trim_start(),
            None => break,
        }
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `[anything short]` at the start, if followed by more text.
fn strip_tag(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let end = inner.find(']')?;
    let rest = &inner[end + 1..];
    (inner[..end].chars().count() <= MAX_TAG_CHARS && !inner[..end].contains('['))
        .then_some(rest)
        .filter(|r| !r.trim().is_empty())
}

/// `Word[n]:` / `Word (n) :` / `Word：` with `Word` one of [`PREFIXES`].
fn strip_prefix(s: &str) -> Option<&str> {
    let word_end = s
        .char_indices()
        .find(|(_, c)| !c.is_alphabetic() && !is_combining(*c))
        .map_or(s.len(), |(i, _)| i);
    if word_end == 0 || !PREFIXES.contains(&s[..word_end].to_lowercase().as_str()) {
        return None;
    }
    let mut rest = s[word_end..].trim_start();
    rest = strip_counter(rest);
    let rest = rest.trim_start();
    rest.strip_prefix(':')
        .or_else(|| rest.strip_prefix('：'))
        .or_else(|| rest.strip_prefix('﹕'))
}

fn is_combining(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

/// `[2]`, `(2)` or `^2` right after a prefix word.
fn strip_counter(s: &str) -> &str {
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(inner) = s.strip_prefix(open) {
            if let Some(end) = inner.find(close) {
                if inner[..end].trim().chars().all(|c| c.is_ascii_digit()) {
                    return &inner[end + 1..];
                }
            }
        }
    }
    if let Some(inner) = s.strip_prefix('^') {
        return inner.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    s
}

/// What threading needs of one email (ids normalised as by
/// [`crate::parse::normalize_message_id`]).
#[derive(Debug, Clone, Copy)]
pub struct ThreadInfo<'a> {
    pub message_id: &'a str,
    pub in_reply_to: &'a [String],
    pub references: &'a [String],
    pub subject: &'a str,
}

impl ThreadInfo<'_> {
    fn ancestors(&self) -> HashSet<&str> {
        self.references
            .iter()
            .chain(self.in_reply_to)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// The id a thread is keyed by across mailboxes: the oldest known ancestor
/// (first References entry, else In-Reply-To), else the email's own id.
/// Emails of one conversation that carry full References share it.
pub fn thread_key(e: &ThreadInfo<'_>) -> String {
    e.references
        .first()
        .or_else(|| e.in_reply_to.first())
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(e.message_id)
        .to_string()
}

/// Whether `a` and `b` belong to one thread. The same email, or one
/// referencing the other, always does (subjects get edited mid-thread).
/// Two emails that only share an ancestor do when their normalised
/// subjects agree, which keeps a long-lived References chain reused for a
/// new topic from swallowing it. Subject alone never joins (it would merge
/// every "Hello" across the firm).
pub fn same_thread(a: &ThreadInfo<'_>, b: &ThreadInfo<'_>) -> bool {
    if !a.message_id.is_empty() && a.message_id == b.message_id {
        return true;
    }
    let (anc_a, anc_b) = (a.ancestors(), b.ancestors());
    if anc_a.contains(b.message_id) || anc_b.contains(a.message_id) {
        return true;
    }
    !anc_a.is_disjoint(&anc_b) && normalize_subject(a.subject) == normalize_subject(b.subject)
}
