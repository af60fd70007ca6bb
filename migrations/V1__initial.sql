-- email-sidecar schema, version 1: every table of SPEC §5.
--
-- Conventions (the Rust side in src/store relies on them):
-- * Times are INTEGER milliseconds since the Unix epoch, UTC (`*_at`, `*_ms`).
-- * Our own ids are INTEGER rowids; the API renders them as strings.
-- * CRM directory ids (users, investors, contacts) are the CRM's TEXT ids.
--   Links and proposals keep those ids WITHOUT a foreign key, because the
--   directory is replaced wholesale on every push and must not cascade into
--   captured mail or decided proposals.
-- * Gmail historyIds are u64; SQLite INTEGER is i64. They are stored as
--   canonical decimal TEXT (CHECKed below) and compared in Rust as u64,
--   never in SQL.
-- * Booleans are INTEGER 0/1.

CREATE TABLE email_accounts (
    id                  INTEGER PRIMARY KEY,
    email               TEXT    NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    crm_user_id         TEXT,
    status              TEXT    NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'paused', 'error', 'revoked')),
    auth_method         TEXT    NOT NULL CHECK (auth_method IN ('dwd', 'oauth')),
    -- OAuth refresh token, AES-256-GCM: nonce(12) || ciphertext+tag, AAD = address.
    refresh_token_enc   BLOB,
    -- Incremental sync cursor (u64 as decimal text) and when it last moved.
    history_id          TEXT    CHECK (history_id IS NULL OR (length(history_id) BETWEEN 1 AND 20
                                       AND history_id NOT GLOB '*[^0-9]*')),
    history_id_at       INTEGER,
    -- Backfill checkpoint: state, the cursor taken from getProfile before it
    -- began, and the next messages.list page still to list.
    backfill_state      TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (backfill_state IN ('pending', 'running', 'done')),
    backfill_history_id TEXT    CHECK (backfill_history_id IS NULL OR (length(backfill_history_id) BETWEEN 1 AND 20
                                       AND backfill_history_id NOT GLOB '*[^0-9]*')),
    backfill_page_token TEXT,
    backfill_started_at INTEGER,
    backfill_done_at    INTEGER,
    -- Loop guard: the last full re-list, so repeated 404s cannot chain them.
    last_full_sync_at   INTEGER,
    last_sync_at        INTEGER,
    last_success_at     INTEGER,
    last_error          TEXT,
    last_error_at       INTEGER,
    watch_expiration    INTEGER,
    watch_history_id    TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE email_threads (
    id                 INTEGER PRIMARY KEY,
    subject_normalized TEXT    NOT NULL DEFAULT '',
    first_date_ms      INTEGER,
    last_date_ms       INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- One row per RFC 5322 email, whichever mailboxes it was seen in.
CREATE TABLE emails (
    id                     INTEGER PRIMARY KEY,
    -- Normalized Message-ID (no <>, trimmed; domain part lowercased), or a
    -- stable hash-derived id when the header is absent.
    message_id             TEXT    NOT NULL UNIQUE,
    message_id_synthesized INTEGER NOT NULL DEFAULT 0,
    thread_id              INTEGER REFERENCES email_threads (id) ON DELETE SET NULL,
    in_reply_to            TEXT,
    subject                TEXT    NOT NULL DEFAULT '',
    from_email             TEXT    NOT NULL DEFAULT '',
    from_name              TEXT    NOT NULL DEFAULT '',
    date_ms                INTEGER NOT NULL,
    snippet                TEXT    NOT NULL DEFAULT '',
    size_bytes             INTEGER NOT NULL DEFAULT 0,
    direction              TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    is_internal            INTEGER NOT NULL DEFAULT 0,
    is_bulk                INTEGER NOT NULL DEFAULT 0,
    is_excluded            INTEGER NOT NULL DEFAULT 0,
    -- Denormalized "has at least one investor link", kept by the store.
    is_matched             INTEGER NOT NULL DEFAULT 0,
    -- JSON [{"name","value"}] of the headers we fetched.
    headers_json           TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(headers_json)),
    -- Bodies only for matched email (SPEC §5 "match-only full storage").
    has_body               INTEGER NOT NULL DEFAULT 0,
    body_text              TEXT,
    body_html              TEXT,
    has_attachments        INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);

-- Every participant of an email, for matching and relinking by address/domain.
CREATE TABLE email_participants (
    email_id INTEGER NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    role     TEXT    NOT NULL CHECK (role IN ('from', 'to', 'cc', 'bcc', 'reply_to', 'sender')),
    address  TEXT    NOT NULL,
    domain   TEXT    NOT NULL,
    name     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (email_id, role, address)
) WITHOUT ROWID;

-- RFC References / In-Reply-To ids of an email (threading across mailboxes).
CREATE TABLE email_references (
    email_id   INTEGER NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    message_id TEXT    NOT NULL,
    PRIMARY KEY (email_id, message_id)
) WITHOUT ROWID;

-- The sighting of an email in one mailbox.
CREATE TABLE email_account_messages (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES email_accounts (id) ON DELETE CASCADE,
    email_id         INTEGER NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    gmail_message_id TEXT    NOT NULL,
    gmail_thread_id  TEXT    NOT NULL,
    labels_json      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(labels_json)),
    is_sent          INTEGER NOT NULL DEFAULT 0,
    is_inbox         INTEGER NOT NULL DEFAULT 0,
    is_trash         INTEGER NOT NULL DEFAULT 0,
    is_spam          INTEGER NOT NULL DEFAULT 0,
    internal_date_ms INTEGER,
    deleted_at       INTEGER,
    first_seen_at    INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (account_id, gmail_message_id)
);

-- Durable work still to fetch (SPEC §6): the cursor never moves past a
-- message whose fetch failed transiently, because the row stays here.
CREATE TABLE email_fetch_queue (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES email_accounts (id) ON DELETE CASCADE,
    gmail_message_id TEXT    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('metadata', 'full', 'attachments')),
    source           TEXT    NOT NULL CHECK (source IN ('backfill', 'history', 'reconcile', 'rematch', 'push')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    not_before       INTEGER NOT NULL DEFAULT 0,
    enqueued_at      INTEGER NOT NULL,
    UNIQUE (account_id, gmail_message_id, kind)
);

CREATE TABLE email_investor_links (
    email_id        INTEGER NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    investor_id     TEXT    NOT NULL,
    contact_id      TEXT,
    strategy        TEXT    NOT NULL CHECK (strategy IN ('exact', 'domain')),
    matched_address TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (email_id, investor_id)
);

CREATE TABLE email_attachments (
    id                  INTEGER PRIMARY KEY,
    email_id            INTEGER NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    part_id             TEXT    NOT NULL,
    filename            TEXT    NOT NULL DEFAULT '',
    mime_type           TEXT    NOT NULL DEFAULT 'application/octet-stream',
    size_bytes          INTEGER NOT NULL DEFAULT 0,
    -- Lowercase hex; content lives at data/email_attachments/ab/<sha256>.
    sha256              TEXT    CHECK (sha256 IS NULL OR (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*')),
    status              TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'stored', 'too_large', 'failed')),
    error               TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (email_id, part_id),
    CHECK (status <> 'stored' OR sha256 IS NOT NULL)
);

-- The CRM's directory (SPEC §11), replaced atomically on every push.
CREATE TABLE directory_users (
    id     TEXT    PRIMARY KEY,
    email  TEXT    NOT NULL UNIQUE CHECK (email = lower(email)),
    name   TEXT    NOT NULL DEFAULT '',
    role   TEXT    NOT NULL CHECK (role IN ('admin', 'member', 'bot')),
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE directory_investors (
    id        TEXT    PRIMARY KEY,
    name      TEXT    NOT NULL DEFAULT '',
    graveyard INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE directory_investor_domains (
    investor_id TEXT NOT NULL REFERENCES directory_investors (id) ON DELETE CASCADE,
    domain      TEXT NOT NULL CHECK (domain = lower(domain)),
    PRIMARY KEY (investor_id, domain)
) WITHOUT ROWID;

CREATE TABLE directory_contacts (
    id          TEXT PRIMARY KEY,
    investor_id TEXT NOT NULL REFERENCES directory_investors (id) ON DELETE CASCADE,
    email       TEXT NOT NULL CHECK (email = lower(email)),
    name        TEXT NOT NULL DEFAULT ''
);

-- The "never log" list: an address (has '@') or a whole domain.
CREATE TABLE directory_exclusions (
    value TEXT PRIMARY KEY CHECK (value = lower(value)),
    kind  TEXT NOT NULL CHECK (kind IN ('address', 'domain'))
) WITHOUT ROWID;

CREATE TABLE email_proposals (
    id            INTEGER PRIMARY KEY,
    email_id      INTEGER NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    investor_id   TEXT    NOT NULL,
    contact_id    TEXT,
    direction     TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    occurred_at   INTEGER NOT NULL,
    subject       TEXT    NOT NULL DEFAULT '',
    note          TEXT    NOT NULL,
    note_source   TEXT    NOT NULL DEFAULT 'deterministic' CHECK (note_source IN ('deterministic', 'llm')),
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    TEXT,
    decided_at    INTEGER,
    -- Review-bot bridge marks (SPEC §7): survive a bot restart.
    posted_at     INTEGER,
    posted_ref    TEXT,
    closed_at     INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (email_id, investor_id),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);

-- Approved activity, in the order the CRM applies it. AUTOINCREMENT so a
-- seq is never reused, even after the newest row were ever deleted.
CREATE TABLE activity_feed (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id INTEGER NOT NULL UNIQUE REFERENCES email_proposals (id),
    investor_id TEXT    NOT NULL,
    contact_id  TEXT,
    email_id    INTEGER NOT NULL REFERENCES emails (id),
    occurred_at INTEGER NOT NULL,
    direction   TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    subject     TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL,
    approved_by TEXT    NOT NULL,
    approved_at INTEGER NOT NULL
);

CREATE TABLE email_drafts (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT    UNIQUE,
    -- Hash of the request body, so a reused key with another body is a 409.
    request_hash    TEXT    NOT NULL,
    email_id        INTEGER NOT NULL REFERENCES emails (id),
    account_id      INTEGER NOT NULL REFERENCES email_accounts (id),
    gmail_draft_id  TEXT,
    gmail_thread_id TEXT,
    to_json         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(to_json)),
    cc_json         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(cc_json)),
    subject         TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL,
    reply_all       INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'created', 'failed')),
    error           TEXT,
    created_by      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE email_sync_runs (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES email_accounts (id) ON DELETE CASCADE,
    kind              TEXT    NOT NULL CHECK (kind IN ('backfill', 'incremental', 'full', 'push')),
    status            TEXT    NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    started_at        INTEGER NOT NULL,
    finished_at       INTEGER,
    history_id_start  TEXT,
    history_id_end    TEXT,
    messages_listed   INTEGER NOT NULL DEFAULT 0,
    messages_fetched  INTEGER NOT NULL DEFAULT 0,
    messages_added    INTEGER NOT NULL DEFAULT 0,
    messages_deleted  INTEGER NOT NULL DEFAULT 0,
    labels_changed    INTEGER NOT NULL DEFAULT 0,
    matched           INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    error             TEXT
);

CREATE TABLE digest_runs (
    id              INTEGER PRIMARY KEY,
    -- 'scheduled' runs are once per local day; send-now and test do not count.
    kind            TEXT    NOT NULL DEFAULT 'scheduled' CHECK (kind IN ('scheduled', 'send_now', 'test')),
    local_day       TEXT    NOT NULL CHECK (local_day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    window_start    INTEGER NOT NULL,
    window_end      INTEGER NOT NULL,
    -- Deterministic Message-ID, looked up before any retry (exactly once).
    message_id      TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    transport       TEXT    CHECK (transport IN ('gmail', 'smtp')),
    recipients_json TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(recipients_json)),
    sent_at         INTEGER,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX digest_runs_one_scheduled_per_day ON digest_runs (local_day) WHERE kind = 'scheduled';

CREATE TABLE app_settings (
    key        TEXT    PRIMARY KEY,
    value_json TEXT    NOT NULL CHECK (json_valid(value_json)),
    updated_at INTEGER NOT NULL,
    updated_by TEXT
);
