//! Content-Transfer-Encoding decoders for the fake's MIME view. Lenient like
//! a mail store must be: invalid characters are skipped, a broken `=XX`
//! escape is kept literally, and nothing here can fail or panic.

use mail_parser::{MessagePart, MimeHeaders};

/// The transfer-decoded body octets of `part`, cut from `buf` by offsets.
/// The encoding comes from the part's own header: mail-parser forgets it
/// when the body does not decode cleanly, and Gmail still decodes leniently.
pub(super) fn part_bytes(buf: &[u8], part: &MessagePart<'_>) -> Vec<u8> {
    let (start, end) = (part.offset_body as usize, part.offset_end as usize);
    let raw = if start <= end {
        buf.get(start..end).unwrap_or_default()
    } else {
        &[]
    };
    let cte = part.content_transfer_encoding().unwrap_or_default().trim();
    if cte.eq_ignore_ascii_case("base64") {
        base64_lenient(raw)
    } else if cte.eq_ignore_ascii_case("quoted-printable") {
        quoted_printable(raw)
    } else {
        raw.to_vec()
    }
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Base64 (standard or url alphabet), skipping anything outside the
/// alphabet and stopping at the first `=`; a trailing partial group yields
/// the bytes it completes.
pub fn base64_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in input {
        if c == b'=' {
            break;
        }
        let Some(v) = b64_value(c) else { continue };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hex_value(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Quoted-printable: `=XX` escapes, soft line breaks (`=` then CRLF or LF,
/// with optional whitespace between); anything malformed is kept as is.
pub fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        let rest = &input[i + 1..];
        if let (Some(&h), Some(&l)) = (rest.first(), rest.get(1)) {
            if let (Some(h), Some(l)) = (hex_value(h), hex_value(l)) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        let ws = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        match (rest.get(ws), rest.get(ws + 1)) {
            (Some(b'\r'), Some(b'\n')) => i += ws + 3,
            (Some(b'\n'), _) => i += ws + 2,
            (None, _) => i += ws + 1,
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_skips_line_breaks_and_garbage() {
        assert_eq!(base64_lenient(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(base64_lenient(b"aGVsbG8"), b"hello");
        assert_eq!(base64_lenient(b"a*G!V s bG8"), b"hello");
        assert_eq!(base64_lenient(b"+/+/"), base64_lenient(b"-_-_"));
        assert!(base64_lenient(b"").is_empty());
    }

    #[test]
    fn quoted_printable_decodes_escapes_and_soft_breaks() {
        assert_eq!(
            quoted_printable(b"caf=C3=A9 =\r\nau lait"),
            "café au lait".as_bytes()
        );
        assert_eq!(quoted_printable(b"a= \nb"), b"ab");
        assert_eq!(quoted_printable(b"50=25 =ZZ end="), b"50% =ZZ end");
        assert_eq!(quoted_printable(b"=e9t=E9"), b"\xe9t\xe9");
    }
}
