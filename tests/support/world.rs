//! Ground-truth world. (Being built.)
