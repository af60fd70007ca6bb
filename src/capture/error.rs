//! Errors at the capture boundary, with the predicates the runner and the
//! worker loop branch on.

use crate::attachments::AttachmentError;
use crate::google::{AuthError, GmailError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Gmail(#[from] GmailError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("attachment store: {0}")]
    Attachments(#[from] AttachmentError),
    /// The history cursor expired again within the loop guard of the last
    /// full re-list: wait instead of re-listing back to back.
    #[error(
        "history expired again {minutes} min after the last full re-sync; \
         the next full re-sync is allowed after {guard_minutes} min"
    )]
    ResyncGuard { minutes: i64, guard_minutes: i64 },
    #[error("capture set-up: {0}")]
    Setup(String),
    #[error("no enrolled mailbox {0}")]
    UnknownMailbox(String),
    /// Stopped between two checkpointed steps: the daemon is shutting
    /// down, or the mailbox was paused, revoked or put in error meanwhile.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl CaptureError {
    /// The mailbox's grant is refused: it goes to `error` with the reason;
    /// the others carry on (SPEC §6).
    pub fn refused_grant(&self) -> Option<&AuthError> {
        match self {
            CaptureError::Gmail(GmailError::Auth(a)) if a.unauthorized_mailbox().is_some() => {
                Some(a)
            }
            _ => None,
        }
    }

    /// A deliberate stop, not a failure: the run is `partial`.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, CaptureError::Interrupted(_))
    }

    /// Worth another run later without anyone's help.
    pub fn is_retryable(&self) -> bool {
        match self {
            CaptureError::Gmail(e) => e.is_retryable(),
            CaptureError::Store(e) => e.is_retryable(),
            CaptureError::Attachments(e) => e.is_retryable(),
            CaptureError::ResyncGuard { .. } | CaptureError::Interrupted(_) => true,
            CaptureError::Setup(_) | CaptureError::UnknownMailbox(_) => false,
        }
    }
}
