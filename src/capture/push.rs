//! Pub/Sub push notifications (SPEC §6 "Push"): the pieces behind
//! `POST /api/email/push`. `decode` reads the envelope into a
//! [`PushNotice`]; `verify` checks the OIDC bearer token Pub/Sub signs
//! (RS256 against Google's JWKS, cached by `jwks`); `limit` rate-limits
//! notices per mailbox and overall. Nothing here routes HTTP or starts a
//! sync: the push route composes these.
//!
//! Talks to: the JWKS URI over HTTP (the only I/O), the injected clock.

mod decode;
mod error;
mod jwks;
mod limit;
mod verify;

pub use decode::{decode_push, PushNotice};
pub use error::PushError;
pub use limit::PushLimiter;
pub use verify::{PushClaims, PushVerifier};
