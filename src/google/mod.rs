//! Everything that talks to Google: tokens (service-account DWD and OAuth),
//! the Gmail API client with per-mailbox quota, retries and batching.

pub mod types;
