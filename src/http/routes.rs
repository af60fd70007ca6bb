//! The route table: every `/api/email/*` route with who may call it
//! ([`Access`], SPEC §8) and its OpenAPI description. The router is built
//! from this table and nothing else, the access check is applied from it
//! (handlers never re-implement the role list), and the served OpenAPI
//! document is generated from it, so the three cannot drift apart.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use serde_json::Value;

use super::auth::{self, Caller};
use super::AppState;
use crate::store::UserRole;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials (health).
    Public,
    /// No bearer token: the handler verifies its own proof (push: the
    /// Pub/Sub OIDC JWT; oauth/callback: the signed `state`).
    OwnProof,
    /// The bearer token plus one of `roles` in `X-CRM-User`; `service`:
    /// whether the CRM itself (no `X-CRM-User`) may call.
    Token {
        roles: &'static [UserRole],
        service: bool,
    },
}

impl Access {
    pub const ADMIN: Access = Access::Token {
        roles: &[UserRole::Admin],
        service: false,
    };
    pub const ADMIN_OR_SERVICE: Access = Access::Token {
        roles: &[UserRole::Admin],
        service: true,
    };
    pub const SERVICE: Access = Access::Token {
        roles: &[],
        service: true,
    };
    pub const ADMIN_OR_BOT: Access = Access::Token {
        roles: &[UserRole::Admin, UserRole::Bot],
        service: false,
    };
    /// Drafts: admin, bot, and members — a member only for a mailbox they
    /// own, which the handler checks.
    pub const DRAFTERS: Access = Access::Token {
        roles: &[UserRole::Admin, UserRole::Member, UserRole::Bot],
        service: false,
    };
}

/// One route.
pub struct RouteDef {
    pub method: Method,
    /// axum/OpenAPI path syntax, e.g. `/api/email/emails/{id}`.
    pub path: &'static str,
    pub access: Access,
    /// Answers even when the integration is disabled (health, status).
    pub when_disabled: bool,
    pub handler: MethodRouter<AppState>,
    pub summary: &'static str,
    /// Extra OpenAPI operation fields (parameters, requestBody, responses).
    pub doc: Value,
    /// A body limit other than the default [`super::BODY_LIMIT`] (e.g. a
    /// large directory push).
    pub body_limit: Option<usize>,
}

impl RouteDef {
    pub fn new(
        method: Method,
        path: &'static str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> RouteDef {
        RouteDef {
            method,
            path,
            access,
            when_disabled: false,
            handler,
            summary: "",
            doc: Value::Object(Default::default()),
            body_limit: None,
        }
    }

    /// Accepts bodies up to `bytes` on this route instead of the default.
    pub fn body_limit(mut self, bytes: usize) -> RouteDef {
        self.body_limit = Some(bytes);
        self
    }

    pub fn summary(mut self, summary: &'static str) -> RouteDef {
        self.summary = summary;
        self
    }

    pub fn doc(mut self, doc: Value) -> RouteDef {
        self.doc = doc;
        self
    }

    pub fn when_disabled(mut self) -> RouteDef {
        self.when_disabled = true;
        self
    }
}

/// Every route of the API.
pub fn all() -> Vec<RouteDef> {
    let mut v = super::core_routes();
    v.extend(super::directory::routes());
    v.extend(super::accounts::routes());
    v.extend(super::sync::routes());
    v.extend(super::activity::routes());
    v.extend(super::proposals::routes());
    v.extend(super::drafts::routes());
    v.extend(super::digest::routes());
    v.extend(super::oauth::routes());
    v.extend(super::stream::routes());
    v.extend(super::metrics::routes());
    v.extend(super::openapi::routes());
    v
}

/// The router for `defs`, each route behind its access check.
pub fn build(state: &AppState, defs: Vec<RouteDef>) -> Router<AppState> {
    let mut router = Router::new();
    for def in defs {
        let guard = Guard {
            access: def.access,
            when_disabled: def.when_disabled,
        };
        let mut handler = def.handler.route_layer(middleware::from_fn_with_state(
            (state.clone(), guard),
            check,
        ));
        if let Some(bytes) = def.body_limit {
            // Inside the router-wide default, so this one wins.
            handler = handler.layer(DefaultBodyLimit::max(bytes));
        }
        router = router.route(def.path, handler);
    }
    router
}

#[derive(Clone, Copy)]
struct Guard {
    access: Access,
    when_disabled: bool,
}

/// The access check in front of every handler: 503 when disabled, then the
/// token and role; the [`Caller`] goes into the request's extensions.
async fn check(
    State((state, guard)): State<(AppState, Guard)>,
    mut req: Request,
    next: Next,
) -> Response {
    if !guard.when_disabled {
        if let Err(e) = auth::require_enabled(&state) {
            return e.into_response();
        }
    }
    if let Access::Token { roles, service } = guard.access {
        match auth::require(&state, req.headers(), roles, service).await {
            Ok(caller) => {
                req.extensions_mut().insert(caller);
            }
            Err(e) => return e.into_response(),
        }
    } else {
        req.extensions_mut().insert(Caller::Anonymous);
    }
    next.run(req).await
}
