//! Tier-B reply drafts (SPEC §1, §8): an RFC 5322 reply built with lettre,
//! created in the Gmail thread with `drafts.create`. Agents draft; humans
//! send: nothing here sends.
