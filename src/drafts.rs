//! Tier-B reply drafts (SPEC §1, §8): an RFC 5322 reply built with lettre,
//! created in the Gmail thread of the chosen mailbox with `drafts.create`
//! (gmail.compose). Agents draft; humans send: nothing here, and no route,
//! sends a draft or any message.
//!
//! Flow: check the request (no CR/LF in anything header-bound, body size)
//! → choose the mailbox (its live copy of the email names the Gmail
//! thread) → plan the reply (`reply`) → record a `pending` row under the
//! idempotency key (`store::drafts`) → `drafts.create` → `created` + audit
//! in one transaction, then `Event::DraftCreated`; or `failed` on a Gmail
//! error. Talks to the store and Gmail; called by `http::drafts`.

pub mod reply;

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::clock::SharedClock;
use crate::events::Event;
use crate::google::error::GmailError;
use crate::google::GmailClient;
use crate::store::drafts::{DraftRow, DraftStart, LiveSighting, NewDraft, Person, ReplySource};
use crate::store::{Store, StoreError};

pub use reply::ReplyError;

/// Largest draft body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 200;
/// A `pending` row this old was left by a crash: its key may try again.
const STALE_PENDING_MS: i64 = 5 * 60 * 1000;

/// A draft request as the API received it.
#[derive(Debug, Clone)]
pub struct DraftRequest {
    pub email_id: i64,
    pub account: Option<String>,
    pub body: String,
    pub reply_all: bool,
    pub idempotency_key: Option<String>,
}

/// Who asks: their address, and whether they may draft in any enrolled
/// mailbox (admin, bot) or only their own (member).
#[derive(Debug, Clone)]
pub struct Requester {
    pub email: String,
    pub any_mailbox: bool,
}

/// The draft, and whether it was made earlier under the same key.
#[derive(Debug, Clone)]
pub struct Created {
    pub draft: DraftRow,
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("no email with that id")]
    EmailNotFound,
    #[error("{0}")]
    NotEnrolled(String),
    #[error("{0}")]
    NoLiveCopy(String),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error("this Idempotency-Key was already used for a different request")]
    KeyConflict,
    #[error("a draft with this Idempotency-Key is being created right now; retry shortly")]
    InFlight,
    #[error("Gmail did not create the draft: {0}")]
    Gmail(#[source] GmailError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DraftError {
    /// Trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            DraftError::Gmail(e) => e.is_retryable(),
            DraftError::InFlight => true,
            DraftError::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// Makes reply drafts; cheap to clone.
#[derive(Clone)]
pub struct Drafter {
    store: Store,
    gmail: GmailClient,
    clock: SharedClock,
}

impl Drafter {
    pub fn new(store: Store, gmail: GmailClient, clock: SharedClock) -> Drafter {
        Drafter {
            store,
            gmail,
            clock,
        }
    }

    /// Creates (or, for a repeated idempotency key, finds) the draft.
    pub async fn create(&self, who: &Requester, req: DraftRequest) -> Result<Created, DraftError> {
        validate(&req)?;
        let id = req.email_id;
        let src = self
            .store
            .run(move |s| s.reply_source(id))
            .await?
            .ok_or(DraftError::EmailNotFound)?;
        let sighting = self
            .choose_mailbox(who, req.account.as_deref(), &src)
            .await?;
        let own: HashSet<String> = self
            .store
            .run(|s| s.own_addresses())
            .await?
            .into_iter()
            .map(|a| a.to_ascii_lowercase())
            .collect();
        let plan = reply::plan(&src, &sighting.account_email, &own, req.reply_all)?;
        let from = Person {
            email: sighting.account_email.clone(),
            name: String::new(),
        };
        let raw = reply::build_raw(&plan, &from, &req.body, self.clock.now())?;
        let new = NewDraft {
            idempotency_key: req.idempotency_key.clone(),
            request_hash: request_hash(who, &req),
            email_id: id,
            account_id: sighting.account_id,
            gmail_thread_id: sighting.gmail_thread_id.clone(),
            to: plan.to,
            cc: plan.cc,
            subject: plan.subject,
            body: req.body,
            reply_all: req.reply_all,
            created_by: who.email.clone(),
        };
        let row_id = match self
            .store
            .run(move |s| s.begin_draft(&new, STALE_PENDING_MS))
            .await?
        {
            DraftStart::Proceed(row_id) => row_id,
            DraftStart::Replay(draft) => {
                return Ok(Created {
                    draft: *draft,
                    replayed: true,
                })
            }
            DraftStart::KeyConflict => return Err(DraftError::KeyConflict),
            DraftStart::InFlight => return Err(DraftError::InFlight),
        };
        self.send_to_gmail(who, row_id, &sighting, &raw).await
    }

    async fn send_to_gmail(
        &self,
        who: &Requester,
        row_id: i64,
        sighting: &LiveSighting,
        raw: &[u8],
    ) -> Result<Created, DraftError> {
        let actor = who.email.clone();
        let thread = sighting.gmail_thread_id.as_str();
        match self
            .gmail
            .create_draft(&sighting.account_email, raw, Some(thread))
            .await
        {
            Ok(made) => {
                let draft_id = made.id.unwrap_or_default();
                let thread_id = if made.message.thread_id.is_empty() {
                    thread.to_string()
                } else {
                    made.message.thread_id
                };
                let draft = self
                    .store
                    .run(move |s| s.finish_draft(row_id, &draft_id, &thread_id, &actor))
                    .await?;
                self.store.events().publish(Event::DraftCreated {
                    id: draft.id.to_string(),
                    email_id: draft.email_id.to_string(),
                });
                Ok(Created {
                    draft,
                    replayed: false,
                })
            }
            Err(e) => {
                tracing::warn!(mailbox = %sighting.account_email, error = %e, "drafts.create failed");
                let why = e.to_string();
                self.store
                    .run(move |s| s.fail_draft(row_id, &why, &actor))
                    .await?;
                Err(DraftError::Gmail(e))
            }
        }
    }

    /// The mailbox to draft in: `account`, else the caller's own, else
    /// (admin, bot) any mailbox holding a live copy; it must hold one.
    async fn choose_mailbox(
        &self,
        who: &Requester,
        account: Option<&str>,
        src: &ReplySource,
    ) -> Result<LiveSighting, DraftError> {
        let mine = who.email.trim().to_ascii_lowercase();
        let wanted = account.map(|a| a.trim().to_ascii_lowercase());
        if let Some(w) = &wanted {
            if !who.any_mailbox && *w != mine {
                return Err(DraftError::Forbidden(
                    "a member may draft only in their own mailbox".into(),
                ));
            }
        }
        let target = wanted.clone().unwrap_or_else(|| mine.clone());
        let usable = |s: &&LiveSighting| s.account_status != "revoked";
        let found = src
            .sightings
            .iter()
            .filter(usable)
            .find(|s| s.account_email == target)
            .or_else(|| {
                let fallback = wanted.is_none() && who.any_mailbox;
                fallback
                    .then(|| src.sightings.iter().find(usable))
                    .flatten()
            });
        if let Some(s) = found {
            return Ok(s.clone());
        }
        let lookup = target.clone();
        let enrolled = self
            .store
            .run(move |s| s.account_by_email(&lookup))
            .await?
            .is_some();
        Err(match (enrolled, wanted.is_some() || !who.any_mailbox) {
            (false, true) => {
                DraftError::NotEnrolled(format!("{target} is not an enrolled mailbox"))
            }
            (_, true) => DraftError::NoLiveCopy(format!(
                "mailbox {target} has no live copy of this email (deleted, trashed, or never \
                 captured there), so there is no Gmail thread to draft in"
            )),
            (_, false) => DraftError::NoLiveCopy(
                "no enrolled mailbox has a live copy of this email, so there is no Gmail \
                 thread to draft in"
                    .into(),
            ),
        })
    }
}

/// CR/LF in anything header-bound is refused (no header injection); the
/// body may hold newlines but has a size limit.
fn validate(req: &DraftRequest) -> Result<(), DraftError> {
    let crlf = |s: &str| s.contains(['\r', '\n']);
    if req.account.as_deref().is_some_and(crlf) {
        return Err(DraftError::Invalid(
            "account must not contain CR or LF".into(),
        ));
    }
    if let Some(key) = &req.idempotency_key {
        let printable = key.chars().all(|c| c.is_ascii_graphic());
        if key.is_empty() || key.len() > MAX_KEY_LEN || !printable {
            return Err(DraftError::Invalid(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} printable ASCII characters \
                 (no spaces, CR or LF)"
            )));
        }
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(DraftError::Invalid(format!(
            "body is {} bytes; the limit is {MAX_BODY_BYTES}",
            req.body.len()
        )));
    }
    if req.body.trim().is_empty() {
        return Err(DraftError::Invalid("body must not be empty".into()));
    }
    Ok(())
}

/// What makes two requests "the same" for an idempotency key: who asked
/// and everything they asked for.
fn request_hash(who: &Requester, req: &DraftRequest) -> String {
    let canonical = serde_json::json!([
        who.email.to_ascii_lowercase(),
        req.email_id,
        req.account.as_ref().map(|a| a.trim().to_ascii_lowercase()),
        req.body,
        req.reply_all,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}
