//! `check`'s rows for the optional endpoints: the SMTP fallback (connect,
//! EHLO, STARTTLS and AUTH as configured, NOOP, QUIT, via lettre, as the
//! digest would) and the LLM endpoint (`GET {base}/models` with the key).
//! Nothing configured = no row.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::{CheckRow, Outcome};
use crate::config::Config;

const TIMEOUT: Duration = Duration::from_secs(10);

/// One row when SMTP is configured.
pub(super) async fn smtp_row(config: &Config) -> Option<CheckRow> {
    let smtp = config.smtp.as_ref()?;
    let name = format!("smtp {}:{}", smtp.host, smtp.port);
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .timeout(Some(TIMEOUT));
    if smtp.starttls {
        match TlsParameters::new(smtp.host.clone()) {
            Ok(params) => builder = builder.tls(Tls::Required(params)),
            Err(e) => {
                return Some(CheckRow::new(
                    name,
                    Outcome::Fail,
                    format!("TLS set-up: {e}"),
                ))
            }
        }
    }
    if let (Some(user), Some(pass)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.expose().clone()));
    }
    let how = match (smtp.starttls, smtp.username.is_some()) {
        (true, true) => "EHLO, STARTTLS and AUTH ok",
        (true, false) => "EHLO and STARTTLS ok",
        (false, true) => "EHLO and AUTH ok (no STARTTLS: plain text)",
        (false, false) => "EHLO ok (no STARTTLS: plain text)",
    };
    let transport: AsyncSmtpTransport<Tokio1Executor> = builder.build();
    let row = match transport.test_connection().await {
        Ok(true) => CheckRow::new(name, Outcome::Pass, how),
        Ok(false) => CheckRow::new(name, Outcome::Fail, "connected, but NOOP was refused"),
        // lettre's errors carry the server's reply, never our password.
        Err(e) => CheckRow::new(name, Outcome::Fail, e.to_string()),
    };
    Some(row)
}

/// One row when an LLM endpoint is configured: reachable, and the key (if
/// any) accepted. A server without `/models` still counts as reachable.
pub(super) async fn llm_row(config: &Config) -> Option<CheckRow> {
    let llm = config.llm.as_ref()?;
    let url = format!("{}/models", llm.base_url);
    let name = format!("llm {}", llm.base_url);
    let http = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(h) => h,
        Err(e) => return Some(CheckRow::new(name, Outcome::Fail, e.to_string())),
    };
    let mut req = http.get(&url);
    if let Some(key) = &llm.api_key {
        req = req.bearer_auth(key.expose());
    }
    let row = match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            if status.is_success() {
                CheckRow::new(
                    name,
                    Outcome::Pass,
                    format!("GET /models {status}; model {}", llm.model),
                )
            } else if status.as_u16() == 401 || status.as_u16() == 403 {
                CheckRow::new(
                    name,
                    Outcome::Fail,
                    format!("GET /models {status}: the API key was refused"),
                )
            } else if status.is_server_error() {
                CheckRow::new(name, Outcome::Fail, format!("GET /models {status}"))
            } else {
                CheckRow::new(
                    name,
                    Outcome::Pass,
                    format!("reachable (GET /models {status})"),
                )
            }
        }
        // Without the URL: reqwest's message would repeat it; keep it short.
        Err(e) => CheckRow::new(
            name,
            Outcome::Fail,
            format!("unreachable: {}", e.without_url()),
        ),
    };
    Some(row)
}
