//! Pub/Sub push notifications (SPEC §6 "Push"). (Being built.)
