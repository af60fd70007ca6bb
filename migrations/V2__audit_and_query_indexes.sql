-- email-sidecar schema, version 2: the audit log and the indexes the
-- SPEC §8 reads need (activity keyset pages, per-investor and per-mailbox
-- filters, proposals by status, matching by address and domain).

-- Who did what, when (enroll, pause, decisions, drafts, policy, directory).
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT,
    details_json TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details_json))
);
CREATE INDEX audit_log_by_time ON audit_log (at DESC, id DESC);

-- Activity: matched email newest first, keyset on (date_ms, id).
CREATE INDEX emails_matched_by_date ON emails (date_ms DESC, id DESC) WHERE is_matched = 1;
CREATE INDEX emails_by_thread ON emails (thread_id, date_ms);
CREATE INDEX email_links_by_investor ON email_investor_links (investor_id, email_id);
CREATE INDEX email_sightings_by_email ON email_account_messages (email_id, account_id);
CREATE INDEX email_sightings_by_account ON email_account_messages (account_id, email_id);
CREATE INDEX email_sightings_by_thread ON email_account_messages (account_id, gmail_thread_id);

-- Matching and relinking.
CREATE INDEX email_participants_by_address ON email_participants (address);
CREATE INDEX email_participants_by_domain ON email_participants (domain);
CREATE INDEX email_references_by_id ON email_references (message_id);
CREATE INDEX directory_contacts_by_email ON directory_contacts (email);
CREATE INDEX directory_contacts_by_investor ON directory_contacts (investor_id);
CREATE INDEX directory_domains_by_domain ON directory_investor_domains (domain);

-- Work queues and histories.
CREATE INDEX email_fetch_queue_due ON email_fetch_queue (account_id, not_before, id);
CREATE INDEX email_attachments_by_sha ON email_attachments (sha256);
CREATE INDEX email_sync_runs_by_account ON email_sync_runs (account_id, id DESC);

-- Proposals by status newest first; bot work-lists; feed is by seq (its key).
CREATE INDEX email_proposals_by_status ON email_proposals (status, id DESC);
CREATE INDEX email_proposals_by_investor ON email_proposals (investor_id, id DESC);
CREATE INDEX email_proposals_bot_marks ON email_proposals (posted_at, closed_at, status);
CREATE INDEX activity_feed_by_investor ON activity_feed (investor_id, seq);
CREATE INDEX email_drafts_by_email ON email_drafts (email_id);
