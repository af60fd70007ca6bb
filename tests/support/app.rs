//! Test stack against fake Google. (Being built.)
