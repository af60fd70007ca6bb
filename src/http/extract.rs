//! Request extractors that answer bad input in the SPEC error shape with a
//! message that says what is wrong (axum's own rejections are plain text),
//! and the shared paging rules (SPEC §11: `limit` default 50, max 500;
//! lists are `{"items": [...], "next": cursor|null}`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// A JSON body; malformed JSON → 400, wrong shape → 422, no JSON content
/// type → 415, over the body limit → 413.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

fn json_rejection(rej: JsonRejection) -> ApiError {
    let code = match &rej {
        JsonRejection::JsonDataError(_) => "invalid_body",
        JsonRejection::JsonSyntaxError(_) => "malformed_json",
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        _ if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        _ => "invalid_body",
    };
    ApiError::new(rej.status(), code, rej.body_text())
}

/// Query parameters; anything that does not parse → 400 `invalid_query`.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rej) => Err(query_rejection(rej)),
        }
    }
}

fn query_rejection(rej: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rej.body_text())
}

/// Path parameters; anything that does not parse → 400 `invalid_path`.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(rej) => Err(path_rejection(rej)),
        }
    }
}

fn path_rejection(rej: PathRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", rej.body_text())
}

/// An id from a path (`what`: "email", "proposal", ...): our ids are
/// positive integers as strings; anything else is a 404 naming the kind,
/// never a parse error echoing arbitrary bytes back.
pub fn parse_id(what: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("no {what} with that id")))
}

/// `?limit=`: default 50, 1..=500, else 400.
pub fn limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}, not {n}"),
        )),
    }
}

/// The SPEC list shape.
pub fn list(items: Vec<Value>, next: Option<String>) -> Value {
    serde_json::json!({"items": items, "next": next})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_are_not_positive_integers_are_not_found() {
        for raw in ["0", "-1", "../etc/passwd", "1;DROP TABLE emails", "", "9e9"] {
            let e = parse_id("email", raw).unwrap_err();
            assert_eq!(e.status, StatusCode::NOT_FOUND, "{raw}");
            assert!(!e.message.contains(raw) || raw.is_empty());
        }
        assert_eq!(parse_id("email", "42").unwrap(), 42);
    }

    #[test]
    fn limits_default_to_fifty_and_stop_at_five_hundred() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some(500)).unwrap(), 500);
        assert_eq!(
            limit(Some(501)).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(limit(Some(0)).unwrap_err().status, StatusCode::BAD_REQUEST);
    }
}
