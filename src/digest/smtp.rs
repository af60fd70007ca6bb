//! The SMTP fallback (`SMTP_*`): lettre's async transport on tokio with
//! rustls, STARTTLS when configured (required then, never downgraded),
//! plain only when `SMTP_STARTTLS=false`. Answers the server's acceptance
//! reply (`250 ...`), which the caller records before marking the run sent.
//! Used only by `digest::send`.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpConfig;

const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `message` (its envelope is taken from its From/To headers);
/// the server's reply, e.g. `250 2.0.0 Ok: queued as ABC`.
pub(super) async fn send(cfg: &SmtpConfig, message: Message) -> Result<String, String> {
    let builder = if cfg.starttls {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
            .map_err(|e| format!("SMTP {}: {e}", cfg.host))?
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
    };
    let mut builder = builder.port(cfg.port).timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = &cfg.username {
        let password = cfg
            .password
            .as_ref()
            .map(|p| p.expose().clone())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    let transport = builder.build();
    // lettre's errors carry the server's text, never our credentials.
    let reply = transport
        .send(message)
        .await
        .map_err(|e| format!("SMTP {}:{}: {e}", cfg.host, cfg.port))?;
    if !reply.is_positive() {
        return Err(format!("SMTP server refused: {}", reply.code()));
    }
    let text: Vec<&str> = reply.message().collect();
    Ok(format!("{} {}", reply.code(), text.join(" "))
        .trim()
        .to_string())
}
