//! Google's batch endpoint (`POST /batch/gmail/v1`, `POST /batch`): a
//! multipart/mixed body whose `application/http` parts are whole HTTP
//! requests. Each runs as its own Gmail call (own auth, quota and method
//! counter; it can fail alone) and its answer goes back, in order, as an
//! `application/http` part with `Content-ID: <response-…>`.

use super::faults;
use super::gmail::{self, ApiRequest};
use super::reply::{errors, Reply};
use super::state::{random_token, Shared};
use axum::http::{Method, StatusCode};

/// Google's limit on calls per batch.
pub(crate) const MAX_CALLS: usize = 100;

/// One inner call: its Content-ID (without `<>`) and the request.
struct Part {
    content_id: Option<String>,
    request: ApiRequest,
}

/// Handle one batch POST.
pub(crate) fn handle(
    shared: &Shared,
    content_type: &str,
    auth: Option<String>,
    body: &[u8],
) -> Reply {
    {
        let mut st = shared.lock();
        st.count_call("batch");
        if let Some(kind) = st.faults.pick_reset("batch") {
            st.counters.injected_faults += 1;
            return faults::gmail_reply(kind);
        }
    }
    let parts = match parse(content_type, body, auth.as_deref()) {
        Ok(p) => p,
        Err(msg) => return errors::invalid_argument(&msg),
    };
    if parts.is_empty() || parts.len() > MAX_CALLS {
        return errors::invalid_argument(&format!(
            "A batch holds 1 to {MAX_CALLS} calls; this one has {}",
            parts.len()
        ));
    }
    let mut answers = Vec::with_capacity(parts.len());
    for (n, part) in parts.into_iter().enumerate() {
        let reply = gmail::call(shared, &part.request, true);
        if reply == Reply::Reset {
            return Reply::Reset;
        }
        let id = part.content_id.unwrap_or_else(|| (n + 1).to_string());
        answers.push((id, reply));
    }
    render(&answers)
}

fn parse(content_type: &str, body: &[u8], outer_auth: Option<&str>) -> Result<Vec<Part>, String> {
    if !content_type.to_ascii_lowercase().starts_with("multipart/") {
        return Err("A batch request must be multipart/mixed".into());
    }
    let boundary = boundary_of(content_type).ok_or("multipart/mixed without a boundary")?;
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    for chunk in text.split(delimiter.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        // The rest of the delimiter line, then the part; the line break
        // before the next delimiter belongs to that delimiter.
        let chunk = chunk.split_once('\n').map_or("", |(_, rest)| rest);
        let chunk = chunk.strip_suffix('\n').unwrap_or(chunk);
        let chunk = chunk.strip_suffix('\r').unwrap_or(chunk);
        parts.push(parse_part(chunk, outer_auth)?);
    }
    Ok(parts)
}

fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Split at the first empty line: (header lines, rest).
fn split_head(s: &str) -> (Vec<&str>, &str) {
    let crlf = s.find("\r\n\r\n").map(|i| (i, i + 4));
    let lf = s.find("\n\n").map(|i| (i, i + 2));
    let cut = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    let (head, rest) = match cut {
        Some((end, start)) => (&s[..end], &s[start..]),
        None => (s, ""),
    };
    (
        head.lines().map(|l| l.trim_end_matches('\r')).collect(),
        rest,
    )
}

fn header<'a>(lines: &[&'a str], name: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

fn parse_part(chunk: &str, outer_auth: Option<&str>) -> Result<Part, String> {
    let (part_headers, http) = split_head(chunk);
    let content_id = header(&part_headers, "content-id")
        .map(|v| v.trim_start_matches('<').trim_end_matches('>').to_string());
    let (lines, body) = split_head(http.trim_start_matches(['\r', '\n']));
    let request_line = lines.first().ok_or("a batch part without a request line")?;
    let mut words = request_line.split_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Err(format!("bad request line in batch part: {request_line:?}"));
    };
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let target = strip_origin(target);
    let auth = header(&lines[1..], "authorization")
        .or(outer_auth)
        .map(String::from);
    let body = match header(&lines[1..], "content-length").and_then(|n| n.parse::<usize>().ok()) {
        // `get` rather than indexing: a Content-Length that does not land on
        // a character boundary is malformed input, not a reason to panic.
        Some(n) if n <= body.len() => body.get(..n).unwrap_or(body),
        _ => body.trim_end(),
    };
    Ok(Part {
        content_id,
        request: ApiRequest::new(method, target, auth, body.as_bytes().to_vec()),
    })
}

/// `https://host/path?q` → `/path?q`; a bare path stays as it is.
fn strip_origin(target: &str) -> &str {
    match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    }
}

fn render(answers: &[(String, Reply)]) -> Reply {
    let boundary = format!("batch_{}", random_token("", 24));
    let mut out = Vec::new();
    for (id, reply) in answers {
        let Reply::Http {
            status,
            headers,
            body,
        } = reply
        else {
            continue;
        };
        let reason = StatusCode::from_u16(*status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown");
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{id}>\r\n\r\nHTTP/1.1 {status} {reason}\r\n"
            )
            .as_bytes(),
        );
        for (name, value) in headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Reply::Http {
        status: 200,
        headers: vec![(
            "content-type",
            format!("multipart/mixed; boundary={boundary}"),
        )],
        body: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_style_batch_with_lf_endings_and_a_quoted_boundary_parses() {
        let body = "--===123==\nContent-Type: application/http\nMIME-Version: 1.0\n\
            Content-Transfer-Encoding: binary\nContent-ID: <abc + 1>\n\n\
            GET /gmail/v1/users/me/messages/18c?format=metadata&alt=json HTTP/1.1\n\
            Content-Type: application/json\nMIME-Version: 1.0\nHost: gmail.googleapis.com\n\n\n\
            --===123==\nContent-Type: application/http\nContent-ID: <abc + 2>\n\n\
            POST https://gmail.googleapis.com/gmail/v1/users/me/drafts HTTP/1.1\n\
            Authorization: Bearer inner\ncontent-length: 7\n\n{\"a\":1}\n--===123==--\n";
        let parts = parse(
            "multipart/mixed; boundary=\"===123==\"",
            body.as_bytes(),
            Some("Bearer outer"),
        )
        .unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].content_id.as_deref(), Some("abc + 1"));
        assert_eq!(parts[0].request.path, "/gmail/v1/users/me/messages/18c");
        assert_eq!(parts[0].request.param("format"), Some("metadata"));
        assert_eq!(parts[0].request.auth.as_deref(), Some("Bearer outer"));
        assert_eq!(parts[1].request.method, Method::POST);
        assert_eq!(parts[1].request.path, "/gmail/v1/users/me/drafts");
        assert_eq!(parts[1].request.auth.as_deref(), Some("Bearer inner"));
        assert_eq!(parts[1].request.body, b"{\"a\":1}");
    }
}
