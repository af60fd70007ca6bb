//! Pub/Sub push pieces (`capture::push`): the OIDC token check against the
//! project's fake Google over HTTP, the envelope decoder and the limiter.

#[path = "push/support.rs"]
mod support;

#[path = "push/decode.rs"]
mod decode;
#[path = "push/jwks.rs"]
mod jwks;
#[path = "push/limit.rs"]
mod limit;
#[path = "push/verify.rs"]
mod verify;
