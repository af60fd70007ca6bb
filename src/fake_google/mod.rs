//! fake_google: work in progress.
