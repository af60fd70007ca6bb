//! Who is calling (SPEC §8): the CRM's bearer token (compared in constant
//! time), and the acting user from `X-CRM-User` resolved against the pushed
//! directory to admin / member / bot; no header = the CRM itself
//! (`service`). Unknown or inactive users are refused. Which roles each
//! route takes is in the route table (`routes.rs`), which applies [`require`].

use axum::http::{HeaderMap, StatusCode};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::store::UserRole;

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A route without a bearer token (health, push, oauth/callback).
    Anonymous,
    Service,
    User {
        email: String,
        role: UserRole,
    },
}

impl Caller {
    /// Who did it, for audit rows: the user's address, `service` for the
    /// CRM itself, `anonymous` for routes without a bearer token.
    pub fn actor(&self) -> &str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Service => "service",
            Caller::User { email, .. } => email,
        }
    }
}

/// 503 when the integration is switched off (all routes but health/status).
pub fn require_enabled(state: &AppState) -> Result<(), ApiError> {
    if state.config.enabled {
        Ok(())
    } else {
        Err(ApiError::unavailable(
            "the Gmail integration is disabled (CRM_GMAIL_INTEGRATION_ENABLED=false)",
        ))
    }
}

/// Checks the bearer token and the caller's role: `roles` lists the users
/// allowed, `service` whether the CRM itself (no `X-CRM-User`) is.
pub async fn require(
    state: &AppState,
    headers: &HeaderMap,
    roles: &[UserRole],
    service: bool,
) -> Result<Caller, ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
    let expected = state
        .config
        .api_token
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("no API token is configured"))?;
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("a bearer token is required"))?;
    if !bool::from(given.trim().as_bytes().ct_eq(expected.expose().as_bytes())) {
        return Err(unauthorized("the bearer token is not valid"));
    }
    let forbidden = |m: String| ApiError::new(StatusCode::FORBIDDEN, "forbidden", m);
    // Present but unreadable is refused, never taken for "no user" (service).
    let user = match headers.get("x-crm-user").map(|v| v.to_str()) {
        Some(Err(_)) => return Err(forbidden("X-CRM-User must be a plain email address".into())),
        Some(Ok(u)) => Some(u),
        None => None,
    };
    let Some(user) = user else {
        return if service {
            Ok(Caller::Service)
        } else {
            Err(forbidden(
                "this route needs an acting user (X-CRM-User)".into(),
            ))
        };
    };
    let email = user.trim().to_lowercase();
    let lookup = email.clone();
    let found = state
        .store
        .run(move |s| s.directory_user_by_email(&lookup))
        .await
        .map_err(ApiError::from)?;
    match found {
        Some(u) if u.active && roles.contains(&u.role) => Ok(Caller::User {
            email,
            role: u.role,
        }),
        Some(u) if u.active => Err(forbidden(format!(
            "role {} may not do this",
            u.role.as_str()
        ))),
        _ => Err(forbidden(format!(
            "{email} is not an active user of the CRM"
        ))),
    }
}
