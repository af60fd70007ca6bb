//! fake_google: work in progress.

pub mod mime;
pub mod query;
