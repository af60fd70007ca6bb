//! threads: in progress (issue 3).
