//! Shared integration-test support: `app` (spawn a daemon-side stack
//! against a fresh fake Google), `world` (the ground-truth mail world) and
//! `snapshot` (what the database holds, for comparing against the truth).
#![allow(dead_code, unused_imports)]

pub mod api;
pub mod app;
pub mod llm;
pub mod snapshot;
pub mod world;
