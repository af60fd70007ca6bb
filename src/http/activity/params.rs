//! Query strings of the read routes, parsed strictly: the whole string has
//! a length cap, every value must be UTF-8 once percent-decoded (`%FF` is
//! an error, not a silent U+FFFD as serde's lossy decoding would make it),
//! unknown and repeated parameters are refused (a misspelt filter must not
//! quietly list everything), and cursors are opaque tokens we issued.

use std::collections::HashMap;

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use percent_encoding::percent_decode_str;

use crate::http::extract;
use crate::http::ApiError;
use crate::store::activity::{ActivityFilter, Cursor, Direction};

/// Longest query string accepted, in bytes (percent-encoded).
pub const MAX_QUERY_BYTES: usize = 2048;
/// Longest free-text search, in characters.
pub const MAX_Q_CHARS: usize = 200;
/// Longest investor id (the CRM's ids are short).
const MAX_ID_CHARS: usize = 200;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
}

/// `name → value` of a query string whose names are all in `allowed`.
pub fn parse(
    raw: Option<&str>,
    allowed: &[&'static str],
) -> Result<HashMap<&'static str, String>, ApiError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "query_too_long",
            format!("the query string is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let mut out = HashMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name).map_err(|_| bad("a query parameter name is not valid UTF-8"))?;
        let Some(known) = allowed.iter().copied().find(|a| *a == name) else {
            let shown: String = name.chars().take(40).collect();
            return Err(bad(format!(
                "unknown query parameter {shown:?}; this route takes {}",
                allowed.join(", ")
            )));
        };
        let value = decode(value).map_err(|_| {
            bad(format!(
                "query parameter {known} is not valid UTF-8 once percent-decoded"
            ))
        })?;
        if out.insert(known, value).is_some() {
            return Err(bad(format!("query parameter {known} is given twice")));
        }
    }
    Ok(out)
}

/// `application/x-www-form-urlencoded` value decoding, strict about UTF-8.
fn decode(s: &str) -> Result<String, std::str::Utf8Error> {
    let plus = s.replace('+', " ");
    Ok(percent_decode_str(&plus).decode_utf8()?.into_owned())
}

/// `?limit=`: a number, then the shared paging rule.
pub fn limit(p: &HashMap<&'static str, String>) -> Result<usize, ApiError> {
    let n = match p.get("limit") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| {
            bad(format!(
                "limit must be a whole number from 1 to {}",
                extract::MAX_LIMIT
            ))
        })?),
    };
    Ok(extract::limit(n)? as usize)
}

/// `?before=`: a cursor from an earlier page's `next`.
pub fn before(p: &HashMap<&'static str, String>) -> Result<Option<Cursor>, ApiError> {
    p.get("before").map(|v| decode_cursor(v)).transpose()
}

/// `?investor_id=`.
pub fn investor_id(p: &HashMap<&'static str, String>) -> Result<Option<String>, ApiError> {
    match p.get("investor_id") {
        None => Ok(None),
        Some(v) if v.is_empty() || v.chars().count() > MAX_ID_CHARS => Err(bad(format!(
            "investor_id must be 1 to {MAX_ID_CHARS} characters"
        ))),
        Some(v) => Ok(Some(v.clone())),
    }
}

/// The activity route's filters.
pub fn activity_filter(p: &HashMap<&'static str, String>) -> Result<ActivityFilter, ApiError> {
    let account_id = match p.get("account_id") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("account_id must be a mailbox id (a positive integer)"))?,
        ),
    };
    let direction = match p.get("direction").map(String::as_str) {
        None => None,
        Some("inbound") => Some(Direction::Inbound),
        Some("outbound") => Some(Direction::Outbound),
        Some(_) => return Err(bad("direction must be inbound or outbound")),
    };
    let q = match p.get("q") {
        Some(v) if v.chars().count() > MAX_Q_CHARS => {
            return Err(bad(format!(
                "q is longer than {MAX_Q_CHARS} characters; search for a shorter phrase"
            )))
        }
        Some(v) if v.chars().any(char::is_control) => {
            return Err(bad("q must not contain control characters"))
        }
        Some(v) if !v.is_empty() => Some(v.clone()),
        _ => None,
    };
    Ok(ActivityFilter {
        investor_id: investor_id(p)?,
        account_id,
        direction,
        q,
    })
}

/// The opaque form of a cursor (`next`, `before`).
pub fn encode_cursor(c: Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", c.date_ms, c.id))
}

fn decode_cursor(s: &str) -> Result<Cursor, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            "before must be a `next` value from an earlier page of this list",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let (d, i) = text.split_once('.').ok_or_else(invalid)?;
    let cursor = Cursor {
        date_ms: d.parse().map_err(|_| invalid())?,
        id: i.parse().map_err(|_| invalid())?,
    };
    // Only the canonical spelling of a positive id is one we gave out.
    if cursor.id <= 0 || encode_cursor(cursor) != s {
        return Err(invalid());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["q", "limit", "before"];

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for c in [
            Cursor { date_ms: 0, id: 1 },
            Cursor { date_ms: -5, id: 7 },
            Cursor {
                date_ms: 1_700_000_000_000,
                id: i64::MAX,
            },
        ] {
            assert_eq!(decode_cursor(&encode_cursor(c)).unwrap(), c);
        }
        let bogus = [
            "", "x", "!!!", "MTIz", "MS4w", "LTEuLTE", "MS4xLjE", "MS4gMQ", "%00",
        ];
        for s in bogus {
            let e = decode_cursor(s).unwrap_err();
            assert_eq!(
                (e.status, e.code),
                (StatusCode::BAD_REQUEST, "invalid_cursor"),
                "{s}"
            );
        }
    }

    #[test]
    fn query_strings_are_decoded_strictly() {
        let p = parse(Some("q=100%25+off&limit=5"), ALL).unwrap();
        assert_eq!(p["q"], "100% off");
        assert_eq!(p["limit"], "5");
        let refused = [
            ("q=%FF", "not valid UTF-8"),
            ("q=a&q=b", "given twice"),
            ("qq=1", "unknown query parameter"),
            ("%FF=1", "not valid UTF-8"),
        ];
        for (raw, why) in refused {
            let e = parse(Some(raw), ALL).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{raw}");
            assert!(e.message.contains(why), "{raw}: {}", e.message);
        }
        let long = format!("q={}", "a".repeat(MAX_QUERY_BYTES));
        assert_eq!(
            parse(Some(&long), ALL).unwrap_err().status,
            StatusCode::URI_TOO_LONG
        );
    }

    #[test]
    fn limits_must_be_numbers_in_range() {
        for (raw, ok) in [
            ("", true),
            ("limit=1", true),
            ("limit=500", true),
            ("limit=0", false),
            ("limit=501", false),
            ("limit=abc", false),
            ("limit=-1", false),
        ] {
            let p = parse(Some(raw), ALL).unwrap();
            assert_eq!(limit(&p).is_ok(), ok, "{raw}");
        }
    }
}
