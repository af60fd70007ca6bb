//! Content-addressed attachment files. (Being built.)
