-- email-sidecar schema, version 7: what drafts and OAuth mode need beyond V1.

-- OAuth consent `state` nonces (oauth/start → oauth/callback). The state
-- itself is HMAC-signed and carries its expiry; this row makes it
-- single-use (used_at set once, atomically) and remembers who started the
-- flow, for the audit row written when the mailbox connects.
CREATE TABLE oauth_states (
    nonce      TEXT    PRIMARY KEY CHECK (length(nonce) BETWEEN 16 AND 64),
    created_by TEXT    NOT NULL,
    login_hint TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);

-- Drafts by mailbox, newest first (what a mailbox's owner looks up).
CREATE INDEX email_drafts_by_account ON email_drafts (account_id, id DESC);
