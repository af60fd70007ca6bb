//! fake_google over real HTTP: the token endpoint, the Gmail subset, batch,
//! quota and faults, driven with reqwest and JWTs minted by jsonwebtoken.

#[path = "fake_google/support.rs"]
mod support;

#[path = "fake_google/auth.rs"]
mod auth;
#[path = "fake_google/batch.rs"]
mod batch;
#[path = "fake_google/faults.rs"]
mod faults;
#[path = "fake_google/history.rs"]
mod history;
#[path = "fake_google/messages.rs"]
mod messages;
