//! store: work in progress.
