//! `email-sidecar demo` (SPEC §9): fake Google seeded from the bundled
//! sample emails, an in-process SMTP sink and the real daemon, in one
//! process; prints what happened and keeps serving the API.
