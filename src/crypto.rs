//! crypto: work in progress.
