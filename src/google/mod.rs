//! Everything that talks to Google: tokens (service-account DWD and OAuth),
//! the Gmail API client with per-mailbox quota, retries and batching.
//!
//! - [`auth`]: key files, the DWD JWT, scopes; [`token`]: cache and exchanges.
//! - [`gmail`]: the retrying engine, tuned by [`settings`]; [`calls`]: the endpoints;
//!   [`batch`] + [`batch_codec`]: the multipart batch endpoint.
//! - [`quota`]: per-mailbox unit buckets and in-flight caps; [`retry`]:
//!   error classification and backoff; [`error`]: the two error types.
//! - [`setup`]: the token provider and client the configuration asks for.

pub mod auth;
pub mod batch;
pub mod batch_codec;
pub mod calls;
pub mod error;
pub mod gmail;
pub mod quota;
pub mod retry;
pub mod settings;
pub mod setup;
pub mod token;
pub mod types;

pub use auth::{scopes, OAuthClient, ServiceAccountKey, TokenProvider};
pub use calls::{HistoryListing, HistoryParams, ListMessagesParams, MessageFormat};
pub use error::{AuthError, GmailError};
pub use gmail::{GmailClient, GmailSettings};
pub use quota::GmailMethod;
