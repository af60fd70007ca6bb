//! The daemon's capture loop. (Being built.)
