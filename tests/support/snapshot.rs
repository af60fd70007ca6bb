//! Database snapshot. (Being built.)
