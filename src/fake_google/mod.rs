//! fake_google: work in progress (server, token endpoint, Gmail API subset).

pub mod mime;
pub mod query;
