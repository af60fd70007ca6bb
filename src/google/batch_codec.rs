//! The wire format of Google's batch endpoint: a `multipart/mixed` body of
//! `application/http` parts, each one inner HTTP request or response. Pure
//! byte handling, no I/O; [`crate::google::batch`] sends and retries.
//! The decoder must never panic on whatever bytes come back.

/// One inner request: a `GET` of `path_and_query` (e.g.
/// `/gmail/v1/users/a%40b/messages/1?format=metadata`).
pub struct InnerRequest {
    pub path_and_query: String,
}

/// One inner response, matched to its request by `Content-ID`.
#[derive(Debug, Clone, PartialEq)]
pub struct InnerResponse {
    /// The N of `<response-item-N>`.
    pub item: usize,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl InnerResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The outer body; part N (1-based) gets `Content-ID: <item-N>`.
/// `bearer` is repeated in each part, as Google's own clients do.
pub fn encode(boundary: &str, requests: &[InnerRequest], bearer: &str) -> Vec<u8> {
    let mut out = String::new();
    for (i, r) in requests.iter().enumerate() {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <item-{}>\r\n\r\n\
             GET {} HTTP/1.1\r\nAuthorization: Bearer {bearer}\r\n\r\n",
            i + 1,
            r.path_and_query
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

/// The `boundary` parameter of a `multipart/mixed` Content-Type.
pub fn boundary_of(content_type: &str) -> Result<String, String> {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("multipart/mixed") {
        return Err(format!("batch answer is {mime:?}, not multipart/mixed"));
    }
    content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| "batch answer's Content-Type has no boundary".to_string())
}

/// Split a batch answer into its inner responses. A part that cannot be
/// read is skipped (its item then shows up as missing); only an answer with
/// no multipart structure at all is an error.
pub fn decode(content_type: &str, body: &[u8]) -> Result<Vec<InnerResponse>, String> {
    let boundary = boundary_of(content_type)?;
    let delimiter = format!("--{boundary}");
    let starts = find_all(body, delimiter.as_bytes());
    if starts.is_empty() {
        return Err(format!(
            "batch answer contains no part delimited by {delimiter:?}"
        ));
    }
    let mut out = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let after = start + delimiter.len();
        let rest = &body[after..];
        if rest.starts_with(b"--") {
            break;
        }
        let end = starts.get(n + 1).copied().unwrap_or(body.len());
        if let Some(part) = parse_part(&body[after..end]) {
            out.push(part);
        }
    }
    Ok(out)
}

fn parse_part(raw: &[u8]) -> Option<InnerResponse> {
    // Skip the rest of the delimiter line, then drop the line break that
    // belongs to the next delimiter.
    let line_end = find(raw, b"\n")?;
    let raw = trim_trailing_newline(&raw[line_end + 1..]);
    let (part_head, inner) = split_head(raw)?;
    let part_headers = parse_headers(part_head);
    let item = part_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Content-ID"))
        .and_then(|(_, v)| item_number(v))?;
    let (inner_head, inner_body) = match split_head(inner) {
        Some(split) => split,
        None => (std::str::from_utf8(inner).ok()?, &[][..]),
    };
    let mut lines = inner_head.lines();
    let status = lines
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse::<u16>()
        .ok()?;
    let headers = parse_headers(&lines.collect::<Vec<_>>().join("\n"));
    Some(InnerResponse {
        item,
        status,
        headers,
        body: inner_body.to_vec(),
    })
}

/// `<response-item-7>` (or `<item-7>`, or a prefixed id ending in
/// `item-7`, as Google's python client makes) → 7.
fn item_number(content_id: &str) -> Option<usize> {
    let id = content_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let pos = id.rfind("item-")?;
    id[pos + "item-".len()..].parse().ok()
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Split at the first blank line (CRLF or bare LF); the head must be text.
fn split_head(raw: &[u8]) -> Option<(&str, &[u8])> {
    let crlf = find(raw, b"\r\n\r\n").map(|i| (i, 4));
    let lf = find(raw, b"\n\n").map(|i| (i, 2));
    let (at, len) = match (crlf, lf) {
        (Some(a), Some(b)) => std::cmp::min_by_key(a, b, |x| x.0),
        (a, b) => a.or(b)?,
    };
    let head = std::str::from_utf8(&raw[..at]).ok()?;
    Some((head, &raw[at + len..]))
}

fn trim_trailing_newline(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Delimiter positions: only at the start of the body or of a line.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = find(&hay[from..], needle) {
        let at = from + i;
        if at == 0 || hay[at - 1] == b'\n' {
            out.push(at);
        }
        from = at + needle.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/mixed; boundary=batch_xyz";

    fn part(item: usize, status: &str, body: &str) -> String {
        format!(
            "--batch_xyz\r\nContent-Type: application/http\r\nContent-ID: <response-item-{item}>\r\n\r\n\
             HTTP/1.1 {status}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{body}\r\n"
        )
    }

    #[test]
    fn a_batch_answer_decodes_into_parts_keyed_by_item() {
        let body = format!(
            "{}{}--batch_xyz--\r\n",
            part(2, "404 Not Found", r#"{"error":{"code":404}}"#),
            part(1, "200 OK", r#"{"id":"a"}"#)
        );
        let parts = decode(CT, body.as_bytes()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].item, parts[0].status), (2, 404));
        assert_eq!((parts[1].item, parts[1].status), (1, 200));
        assert_eq!(parts[1].body, br#"{"id":"a"}"#);
        assert_eq!(
            parts[1].header("content-type"),
            Some("application/json; charset=UTF-8")
        );
    }

    #[test]
    fn bare_lf_line_endings_and_a_quoted_boundary_are_accepted() {
        let body = part(1, "200 OK", "{}").replace("\r\n", "\n") + "--batch_xyz--\n";
        let parts = decode("multipart/mixed; boundary=\"batch_xyz\"", body.as_bytes()).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body, b"{}");
    }

    #[test]
    fn garbage_never_panics_and_a_non_multipart_answer_is_an_error() {
        assert!(decode("application/json", b"{}")
            .unwrap_err()
            .contains("not multipart/mixed"));
        assert!(decode("multipart/mixed", b"x")
            .unwrap_err()
            .contains("no boundary"));
        assert!(decode(CT, b"no delimiters here").is_err());
        let junk: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        for cut in [0, 1, 17, 200, 4999] {
            let mut b = b"--batch_xyz\r\n".to_vec();
            b.extend_from_slice(&junk[..cut]);
            let _ = decode(CT, &b);
        }
        let truncated = part(1, "200 OK", "{}");
        for cut in 0..truncated.len() {
            let _ = decode(CT, &truncated.as_bytes()[..cut]);
        }
    }

    #[test]
    fn requests_are_encoded_with_numbered_content_ids() {
        let reqs = [
            InnerRequest {
                path_and_query: "/gmail/v1/users/a%40b/messages/1?format=minimal".into(),
            },
            InnerRequest {
                path_and_query: "/gmail/v1/users/a%40b/messages/2?format=minimal".into(),
            },
        ];
        let text = String::from_utf8(encode("b1", &reqs, "tok")).unwrap();
        assert!(text
            .starts_with("--b1\r\nContent-Type: application/http\r\nContent-ID: <item-1>\r\n\r\n"));
        assert!(text.contains("GET /gmail/v1/users/a%40b/messages/2?format=minimal HTTP/1.1\r\n"));
        assert!(text.contains("Content-ID: <item-2>"));
        assert!(text.ends_with("--b1--\r\n"));
    }
}
