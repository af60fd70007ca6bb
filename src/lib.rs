//! # email-sidecar
//!
//! A daemon beside a venture fund's CRM that does all of its Gmail work
//! (contract: `SPEC.md`). This crate is the whole daemon; `main.rs` is only
//! the command line around it.
//!
//! ```text
//!            CRM (Python)                       Google
//!                │  /api/email/*                  ▲  token URI, Gmail API
//!                ▼                                │  (configurable URLs)
//!   http ──► store ◄── capture ──► google::{auth, gmail, quota, batch}
//!     │        ▲                                  ▲
//!     │        │                                  │ same wire shapes
//!   config   clock                          fake_google (tests, demo)
//! ```
//!
//! - [`config`]: TOML file + `CRM_GMAIL_*` env overrides, validated at start;
//!   secret files checked for safe modes.
//! - [`store`]: the only owner of SQL. SQLite (WAL) with refinery migrations.
//! - [`crypto`]: AES-256-GCM for refresh tokens at rest.
//! - [`google`]: service-account (DWD) and OAuth tokens, the Gmail client
//!   with per-mailbox quota buckets, retries and the batch endpoint.
//! - [`fake_google`]: a real HTTP server that behaves like Google's token
//!   endpoint and the Gmail API subset we use, with quota and faults.
//! - [`http`]: the `/api/email/*` surface (axum on hyper).
//! - [`parse`]: a Gmail message (metadata or full) → the email's record:
//!   normalized Message-ID, participants, bulk flags, bodies, attachments.
//! - [`matching`]: participants × the CRM directory → investor links.
//! - [`threads`]: cross-mailbox threads; subject normalisation.
//! - [`capture`]: backfill, incremental and push sync of every mailbox
//!   through a durable fetch queue; [`attachments`]: content-addressed files.
//! - [`proposals`]: note text for newly matched email (deterministic or
//!   LLM); the store keeps proposals, decisions and the ordered feed.
//! - [`sanitize`]: email HTML made inert for the admin panel.
//! - [`drafts`]: in-thread reply drafts (never sent by us); [`oauth`]: the
//!   OAuth consent flow; [`digest`]: the daily digest, the one send.
//! - [`events`]: change notifications (SSE); [`metrics`]: Prometheus text.
//! - [`daemon`]: the pieces assembled for `serve`; [`demo`]: all of it
//!   against fake Google in one process.
//! - [`check`]: the `check` command's pass/fail table (config, secrets, DB,
//!   one token per enrolled mailbox).
//! - [`instance`]: the data directory's single-instance lock (`serve`,
//!   `demo`, and the commands that must not run beside them).
//! - [`clock`], [`secret`]: injected time; values that never print.

pub mod attachments;
pub mod capture;
pub mod check;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod daemon;
pub mod demo;
pub mod digest;
pub mod drafts;
pub mod events;
pub mod fake_google;
pub mod google;
pub mod http;
pub mod instance;
pub mod matching;
pub mod metrics;
pub mod oauth;
pub mod parse;
pub mod proposals;
pub mod sanitize;
pub mod secret;
pub mod store;
pub mod threads;
