//! Reply drafts (SPEC §8 drafts): the email_drafts rows, idempotency keys.
