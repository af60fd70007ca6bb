//! `GET attachments/{id}`: a stored attachment of a matched email, streamed
//! from the content-addressed store (`crate::attachments`), always as a
//! download: never rendered by the browser in the CRM's origin (types that
//! could run script there go out as octet-stream, `nosniff`, a sandboxing
//! CSP), under a file name that cannot break the header or a file system.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio_util::io::ReaderStream;

use crate::attachments::AttachmentStore;
use crate::http::extract::{parse_id, ApiPath};
use crate::http::{ApiError, AppState};

/// RFC 8187 `attr-char`: everything else is percent-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

const MAX_NAME_CHARS: usize = 150;

pub(super) async fn download(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = parse_id("attachment", &raw)?;
    let a = state
        .store
        .run(move |s| s.attachment_of_matched(id))
        .await?
        .ok_or_else(|| ApiError::not_found("no attachment with that id"))?;
    let sha = match (a.status.as_str(), &a.sha256) {
        ("stored", Some(sha)) => sha.clone(),
        ("too_large", _) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "too_large",
                "this attachment is larger than the capture limit \
                 (CRM_GMAIL_MAX_ATTACHMENT_MB): it was recorded, not stored; \
                 open the email in Gmail to get it",
            ))
        }
        ("failed", _) => {
            return Err(ApiError::not_found(
                "this attachment could not be downloaded from Gmail, so it is not stored",
            ))
        }
        _ => {
            return Err(ApiError::not_found(
                "this attachment is not stored yet; capture is still fetching it",
            ))
        }
    };
    let files = files(state.config.attachments_dir()).await?;
    let file = files.open_file(&sha).await.map_err(|e| {
        // The row says stored: a missing file is damage, not user error.
        tracing::error!(attachment = id, error = %e, "stored attachment cannot be opened");
        ApiError::not_found("this attachment's stored file is missing; see the daemon's log")
    })?;
    let len = file
        .metadata()
        .await
        .map_err(|e| {
            tracing::error!(attachment = id, error = %e, "stored attachment cannot be read");
            ApiError::not_found("this attachment's stored file cannot be read")
        })?
        .len();
    let mut resp = Response::new(Body::from_stream(ReaderStream::new(file)));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header_value(&served_type(&a.mime_type)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_DISPOSITION,
        header_value(&disposition(&a.filename)),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

/// Our values are ASCII by construction; anything else is a bug, served
/// as the safest value rather than a panic.
fn header_value(v: &str) -> HeaderValue {
    HeaderValue::from_str(v)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// One attachment store per directory per process: opening one sweeps
/// crashed writers' temp files (meant for start-up, not per request).
async fn files(dir: PathBuf) -> Result<AttachmentStore, ApiError> {
    static OPENED: OnceLock<Mutex<HashMap<PathBuf, AttachmentStore>>> = OnceLock::new();
    let opened = OPENED.get_or_init(Default::default);
    if let Some(s) = lock(opened).get(&dir) {
        return Ok(s.clone());
    }
    let d = dir.clone();
    let store = tokio::task::spawn_blocking(move || AttachmentStore::open(&d))
        .await
        .map_err(|e| ApiError::unavailable(format!("attachment store: {e}")))?
        .map_err(|e| {
            tracing::error!(error = %e, "attachment store cannot be opened");
            ApiError::unavailable("the attachment store is not available; see the daemon's log")
        })?;
    lock(opened).insert(dir, store.clone());
    Ok(store)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Content-Type to send: the stored type when it is a plain, inert
/// `type/subtype`; octet-stream for anything a browser could execute or
/// render as a document in our origin, and for anything malformed.
pub fn served_type(stored: &str) -> String {
    const OCTET: &str = "application/octet-stream";
    let t = stored
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let Some((top, sub)) = t.split_once('/') else {
        return OCTET.into();
    };
    if !token(top) || !token(sub) {
        return OCTET.into();
    }
    let active = [
        "html",
        "xml",
        "svg",
        "javascript",
        "ecmascript",
        "jscript",
        "css",
        "flash",
        "wap",
        "x-sh",
    ];
    if top == "multipart" || top == "message" || active.iter().any(|a| sub.contains(a)) {
        return OCTET.into();
    }
    t
}

/// `attachment; filename="<ascii>"; filename*=UTF-8''<pct-encoded>`.
pub fn disposition(stored: &str) -> String {
    let name = clean_name(stored);
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' ' => ' ',
            '"' | '\\' | '%' | ';' => '_',
            c if c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(&name, ATTR_CHAR);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The last path component, without control characters, reserved file
/// system characters or leading dots; `attachment` when nothing is left.
fn clean_name(stored: &str) -> String {
    let last = stored.rsplit(['/', '\\']).next().unwrap_or_default();
    let kept: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .take(MAX_NAME_CHARS)
        .collect();
    let trimmed = kept.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "attachment".into()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_out_safe_in_both_forms() {
        let cases = [
            (
                "report.pdf",
                "filename=\"report.pdf\"; filename*=UTF-8''report.pdf",
            ),
            (
                "../../evil\r\n.exe",
                "filename=\"evil.exe\"; filename*=UTF-8''evil.exe",
            ),
            ("..\\..\\win.ini", "filename=\"win.ini\""),
            (
                "a\"b;c%d.txt",
                "filename=\"ab_c_d.txt\"; filename*=UTF-8''ab%3Bc%25d.txt",
            ),
            (
                "Übersicht Q3.xlsx",
                "filename=\"_bersicht Q3.xlsx\"; filename*=UTF-8''%C3%9Cbersicht%20Q3.xlsx",
            ),
            ("", "filename=\"attachment\""),
            ("...", "filename=\"attachment\""),
            ("/", "filename=\"attachment\""),
            ("x\u{0}y\u{7f}.bin", "filename=\"xy.bin\""),
        ];
        for (raw, want) in cases {
            let d = disposition(raw);
            assert!(d.starts_with("attachment; "), "{raw:?}: {d}");
            assert!(d.contains(want), "{raw:?}: {d}");
            assert!(HeaderValue::from_str(&d).is_ok(), "{raw:?}: {d}");
            assert!(!d.contains(['\r', '\n', '/', '\\']), "{raw:?}: {d}");
        }
        let long = disposition(&"a".repeat(1000));
        assert!(long.len() < 400, "{long}");
    }

    #[test]
    fn active_types_are_served_as_octet_stream() {
        for (stored, served) in [
            ("application/pdf", "application/pdf"),
            ("image/png", "image/png"),
            ("text/plain; charset=utf-8", "text/plain"),
            ("TEXT/CSV", "text/csv"),
            ("text/html", "application/octet-stream"),
            ("application/xhtml+xml", "application/octet-stream"),
            ("image/svg+xml", "application/octet-stream"),
            ("text/xml", "application/octet-stream"),
            ("application/javascript", "application/octet-stream"),
            ("text/javascript", "application/octet-stream"),
            ("multipart/related", "application/octet-stream"),
            ("message/rfc822", "application/octet-stream"),
            ("garbage", "application/octet-stream"),
            ("text/plain\r\nX-Evil: 1", "application/octet-stream"),
            ("", "application/octet-stream"),
        ] {
            assert_eq!(served_type(stored), served, "{stored:?}");
        }
    }
}
