//! http: work in progress.
