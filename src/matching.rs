//! matching: in progress (issue 3).
