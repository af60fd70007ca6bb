//! The one module that sends mail (SPEC §1: the digest is the only
//! automated send). A run's row is already `sending` when it gets here.
//! It re-checks that every recipient is an active admin, then:
//! Gmail `messages.send` as the sender (compose scope) with our own retry
//! loop — the client's is off (`retry_max = 0`), because a 5xx or a
//! timeout after Gmail accepted the message would otherwise send it twice —
//! and before every retry, before falling back to SMTP, and before resuming
//! a run a crash left behind, the sender's mailbox is searched for the
//! run's Message-ID (`rfc822msgid:`, all labels, spam/trash included): if
//! it is there, the digest went out and is only recorded. If Gmail fails
//! for good, SMTP (when configured) sends it and its `250` reply is
//! recorded with the `sent` status in one write.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::{smtp, Digest, DigestError, Digests};
use crate::config::Config;
use crate::google::calls::ListMessagesParams;
use crate::google::error::GmailError;
use crate::google::gmail::GmailClient;
use crate::google::retry::Backoff;
use crate::google::setup::{gmail_settings, token_provider};
use crate::store::digest::{Delivery, DigestRun};

/// Sends `run` (already `sending`), recording the outcome on its row.
/// `verify_first`: an earlier attempt may have gone out (resume/retry).
pub(super) async fn deliver(
    d: &Digests,
    run: &DigestRun,
    digest: &Digest,
    verify_first: bool,
) -> Result<Delivery, DigestError> {
    let result = attempt(d, run, digest, verify_first).await;
    let id = run.id;
    match &result {
        Ok(delivery) => {
            let delivery = delivery.clone();
            d.store
                .run(move |s| s.mark_digest_sent(id, &delivery))
                .await?;
            d.store.events().publish(crate::events::Event::DigestSent {
                id: id.to_string(),
                local_day: run.local_day.clone(),
            });
        }
        Err(e) => {
            let why = e.to_string();
            d.store.run(move |s| s.mark_digest_failed(id, &why)).await?;
        }
    }
    result
}

async fn attempt(
    d: &Digests,
    run: &DigestRun,
    digest: &Digest,
    verify_first: bool,
) -> Result<Delivery, DigestError> {
    let cfg = d.live.current();
    check_recipients(d, &run.recipients).await?;
    let sender = run.sender.clone().ok_or(DigestError::NoSender)?;
    let mut gmail_error = String::new();
    let gmail = match gmail_client(d, &cfg).await {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::warn!(error = %e, "digest: Gmail unavailable; trying SMTP");
            gmail_error = format!("Gmail unavailable: {e}");
            None
        }
    };
    if verify_first {
        let g = gmail.as_ref().ok_or_else(|| {
            DigestError::Unverified("Gmail is unavailable to look the digest up".into())
        })?;
        if let Some(found) = lookup(g, &cfg, &sender, &run.message_id).await? {
            tracing::info!(
                run = run.id,
                "digest already in the sender's mailbox; recorded, not resent"
            );
            return Ok(Delivery::Gmail {
                gmail_message_id: found,
            });
        }
    }
    if let Some(g) = &gmail {
        let raw = compose(digest, run, &sender)?.formatted();
        match send_gmail(g, &cfg, &sender, &run.message_id, &raw).await? {
            Ok(delivery) => return Ok(delivery),
            Err(e) => gmail_error = e.to_string(),
        }
    }
    let Some(smtp_cfg) = &cfg.smtp else {
        return Err(DigestError::Send(gmail_error));
    };
    let message = compose(digest, run, &smtp_cfg.from)?;
    let id = run.id;
    d.store.run(move |s| s.note_digest_smtp_attempt(id)).await?;
    match smtp::send(smtp_cfg, message).await {
        Ok(reply) => Ok(Delivery::Smtp { reply }),
        Err(e) => Err(DigestError::Send(format!(
            "Gmail: {gmail_error}; SMTP: {e}"
        ))),
    }
}

/// Whether `run` is already in its sender's mailbox (its Gmail id if so).
pub(super) async fn verify(d: &Digests, run: &DigestRun) -> Result<Option<String>, DigestError> {
    let cfg = d.live.current();
    let sender = run.sender.clone().ok_or(DigestError::NoSender)?;
    let g = gmail_client(d, &cfg)
        .await
        .map_err(DigestError::Unverified)?;
    lookup(&g, &cfg, &sender, &run.message_id).await
}

/// Every recipient must be an active admin now (the directory may have
/// changed since the run was written).
async fn check_recipients(d: &Digests, recipients: &[String]) -> Result<(), DigestError> {
    if recipients.is_empty() {
        return Err(DigestError::NoRecipients);
    }
    let admins = d.store.run(|s| s.active_admin_emails()).await?;
    match recipients
        .iter()
        .find(|r| !admins.contains(&r.to_lowercase()))
    {
        Some(r) => Err(DigestError::NotAdmin(r.clone())),
        None => Ok(()),
    }
}

/// The send loop. `Ok(Err(e))`: Gmail failed for good and verifiably did
/// not send (the caller may fall back); `Err`: we cannot tell (stop).
async fn send_gmail(
    g: &GmailClient,
    cfg: &Config,
    sender: &str,
    message_id: &str,
    raw: &[u8],
) -> Result<Result<Delivery, GmailError>, DigestError> {
    let settings = gmail_settings(cfg);
    let backoff = Backoff::new(settings.backoff_base, settings.backoff_cap);
    let mut attempt = 0;
    loop {
        let e = match g.send_message(sender, raw, None).await {
            Ok(m) => {
                return Ok(Ok(Delivery::Gmail {
                    gmail_message_id: m.id,
                }))
            }
            Err(e) => e,
        };
        if may_have_sent(&e) {
            if let Some(found) = lookup(g, cfg, sender, message_id).await? {
                return Ok(Ok(Delivery::Gmail {
                    gmail_message_id: found,
                }));
            }
        }
        if !e.is_retryable() || attempt >= cfg.retry_max {
            tracing::warn!(error = %e, attempts = attempt + 1, "digest: Gmail send failed");
            return Ok(Err(e));
        }
        tokio::time::sleep(backoff.delay(attempt, e.retry_after())).await;
        attempt += 1;
    }
}

/// A failure after which Gmail may still have sent the message.
fn may_have_sent(e: &GmailError) -> bool {
    matches!(
        e,
        GmailError::Server { .. } | GmailError::Transport { .. } | GmailError::Decode(_)
    )
}

/// The Gmail id of a message with this Message-ID in `sender`'s mailbox.
async fn lookup(
    g: &GmailClient,
    cfg: &Config,
    sender: &str,
    message_id: &str,
) -> Result<Option<String>, DigestError> {
    let params = ListMessagesParams {
        q: Some(format!("rfc822msgid:{message_id}")),
        include_spam_trash: true,
        max_results: Some(10),
        ..ListMessagesParams::default()
    };
    let settings = gmail_settings(cfg);
    let backoff = Backoff::new(settings.backoff_base, settings.backoff_cap);
    let mut attempt = 0;
    loop {
        match g.list_messages(sender, &params, None).await {
            Ok(page) => return Ok(page.messages.into_iter().next().map(|m| m.id)),
            Err(e) if e.is_retryable() && attempt < cfg.retry_max => {
                tokio::time::sleep(backoff.delay(attempt, e.retry_after())).await;
                attempt += 1;
            }
            Err(e) => return Err(DigestError::Unverified(e.to_string())),
        }
    }
}

/// A Gmail client for the live config whose own retries are off.
async fn gmail_client(d: &Digests, cfg: &std::sync::Arc<Config>) -> Result<GmailClient, String> {
    let (c, clock) = (cfg.clone(), d.clock.clone());
    let tokens = d
        .store
        .run(move |s| Ok(token_provider(&c, s, &s.list_accounts()?, clock)))
        .await
        .map_err(|e| e.to_string())??
        .0;
    let mut settings = gmail_settings(cfg);
    settings.retry_max = 0;
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let client = GmailClient::new(settings, tokens, http);
    if let Some(m) = &d.metrics {
        client.count_into(m.clone());
    }
    Ok(client)
}

/// The RFC 5322 message: deterministic Message-ID, text and HTML parts.
pub(super) fn compose(
    digest: &Digest,
    run: &DigestRun,
    from: &str,
) -> Result<Message, DigestError> {
    let bad = |what: &str, e: String| DigestError::Compose(format!("{what}: {e}"));
    let from: Mailbox = format!("Investor digest <{from}>")
        .parse()
        .map_err(|e: lettre::address::AddressError| bad("from", e.to_string()))?;
    let mut b = Message::builder()
        .from(from)
        .subject(digest.subject.clone())
        .message_id(Some(format!("<{}>", run.message_id)))
        .date(run.window_end.into());
    for r in &run.recipients {
        let to: Mailbox = r
            .parse()
            .map_err(|e: lettre::address::AddressError| bad("recipient", e.to_string()))?;
        b = b.to(to);
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(digest.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(digest.html.clone()),
        );
    b.multipart(body).map_err(|e| bad("message", e.to_string()))
}
