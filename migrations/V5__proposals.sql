-- email-sidecar schema, version 5: proposals, the feed and LLM notes (issue 4).
--
-- * The LLM note worker records each attempt on the proposal, so a failing
--   endpoint costs one call per proposal, never a retry loop; the error is
--   kept for operators (never a secret: it is our own summary).
-- * Proposal lists are newest first by when the email happened
--   (occurred_at, id), filtered by status or not: one keyset index each.
-- * The note worker picks pending deterministic notes not yet attempted.

ALTER TABLE email_proposals ADD COLUMN note_attempted_at INTEGER;
ALTER TABLE email_proposals ADD COLUMN note_error TEXT;

CREATE INDEX email_proposals_by_time ON email_proposals (occurred_at DESC, id DESC);
CREATE INDEX email_proposals_by_status_time ON email_proposals (status, occurred_at DESC, id DESC);
CREATE INDEX email_proposals_note_todo ON email_proposals (id)
    WHERE status = 'pending' AND note_source = 'deterministic' AND note_attempted_at IS NULL;
