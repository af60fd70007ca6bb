//! parse: in progress (issue 3).
