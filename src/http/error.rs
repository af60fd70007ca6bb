//! The one error shape every route answers with (SPEC §8):
//! `{"error": {"code": "...", "message": "..."}}` and a fitting status.
//! Messages are written for the caller; no internals, stacks or secrets.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// Store failures are ours, not the caller's: logged in full, answered
    /// without internals.
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_not_found() {
            return ApiError::not_found(e.to_string());
        }
        tracing::error!(error = %e, "store error while answering a request");
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be completed; see the daemon's log",
        )
    }
}
