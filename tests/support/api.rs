//! A client for the daemon's HTTP API in tests: the bearer token and an
//! acting user (`X-CRM-User`) per call, answers as (status, JSON). Plus a
//! directory with one user of each role.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::app::{TestApp, TEST_API_TOKEN};

pub const ADMIN: &str = "alice@fund.test";
pub const MEMBER: &str = "bob@fund.test";
pub const BOT: &str = "bot@fund.test";
pub const INACTIVE: &str = "old@fund.test";

/// Who calls: the CRM itself (no `X-CRM-User`) or a named user.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    Service,
    User(&'a str),
    /// No Authorization header at all.
    NoToken,
    /// A wrong bearer token.
    WrongToken,
}

pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Api {
        Api {
            base,
            client: reqwest::Client::new(),
        }
    }

    /// A request builder for `path` (starting `/api/email/`) as `who`.
    pub fn request(&self, method: Method, path: &str, who: As<'_>) -> reqwest::RequestBuilder {
        let mut rb = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match who {
            As::NoToken => {}
            As::WrongToken => rb = rb.bearer_auth("not-the-token"),
            As::Service => rb = rb.bearer_auth(TEST_API_TOKEN),
            As::User(u) => rb = rb.bearer_auth(TEST_API_TOKEN).header("X-CRM-User", u),
        }
        rb
    }

    /// Sends and returns the status and the JSON body (`Null` if none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.request(method, path, who);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, json)
    }

    pub async fn get(&self, path: &str, who: As<'_>) -> (StatusCode, Value) {
        self.call(Method::GET, path, who, None).await
    }

    pub async fn post(&self, path: &str, who: As<'_>, body: &Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, who, Some(body)).await
    }

    /// `GET metrics` as the CRM's service: the Prometheus text.
    pub async fn metrics(&self) -> String {
        let resp = self
            .request(Method::GET, "/api/email/metrics", As::Service)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.unwrap()
    }
}

/// The acme directory (investor `inv`, domain acme.vc, contact jo@acme.vc)
/// plus users: alice admin, bob member, bot@ bot, old@ an inactive admin.
pub fn directory_with_users() -> email_sidecar::store::Directory {
    use email_sidecar::store::{DirectoryUser, UserRole};
    let user = |id: &str, email: &str, role: UserRole, active: bool| DirectoryUser {
        id: id.into(),
        email: email.into(),
        name: id.into(),
        role,
        active,
    };
    let mut d = super::app::acme_directory();
    d.users = vec![
        user("u-alice", ADMIN, UserRole::Admin, true),
        user("u-bob", MEMBER, UserRole::Member, true),
        user("u-bot", BOT, UserRole::Bot, true),
        user("u-old", INACTIVE, UserRole::Admin, false),
    ];
    d
}

impl TestApp {
    /// The whole daemon served on loopback, with an [`Api`] client for it.
    pub async fn serve_api(&self) -> (Api, tokio_util::sync::CancellationToken) {
        let (base, stop) = self.serve_daemon().await;
        (Api::new(base), stop)
    }

    /// [`TestApp::serve_routes`] (no worker, no scheduler) with a client.
    pub async fn serve_routes_api(&self) -> (Api, tokio_util::sync::CancellationToken) {
        let (base, stop) = self.serve_routes().await;
        (Api::new(base), stop)
    }
}

/// An enabled app with [`directory_with_users`] pushed, its whole daemon
/// served: the usual start of an API test.
pub async fn served_with_users() -> (TestApp, Api, tokio_util::sync::CancellationToken) {
    let app = super::app::spawn_app(super::app::AppOptions {
        enabled: true,
        ..super::app::AppOptions::default()
    })
    .await;
    app.store
        .replace_directory(&directory_with_users())
        .unwrap();
    let (api, stop) = app.serve_api().await;
    (app, api, stop)
}
