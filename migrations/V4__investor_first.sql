-- email-sidecar schema, version 4: investor-first backfill (issue 7).
--
-- The fetch queue learns a third kind, 'search': a message a Gmail search
-- for the directory's addresses and domains listed, fetched in full at
-- once (its headers decide matching as usual; the search is only a hint),
-- ahead of everything else. SQLite cannot change a CHECK in place, so the
-- table is rebuilt with its rows.
--
-- Its id becomes AUTOINCREMENT: a plain rowid is reused after the newest
-- row is deleted, so a worker holding an item's id could, after another
-- path removed that item, touch a different mailbox's new item. Ids are
-- never reused now (and the store also matches the item's key).

CREATE TABLE email_fetch_queue_v4 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES email_accounts (id) ON DELETE CASCADE,
    gmail_message_id TEXT    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('metadata', 'full', 'attachments', 'search')),
    source           TEXT    NOT NULL CHECK (source IN ('backfill', 'history', 'reconcile', 'rematch', 'push', 'search')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    not_before       INTEGER NOT NULL DEFAULT 0,
    enqueued_at      INTEGER NOT NULL,
    failed_at        INTEGER,
    UNIQUE (account_id, gmail_message_id, kind)
);
INSERT INTO email_fetch_queue_v4 (id, account_id, gmail_message_id, kind, source, attempts,
                                  last_error, not_before, enqueued_at, failed_at)
    SELECT id, account_id, gmail_message_id, kind, source, attempts,
           last_error, not_before, enqueued_at, failed_at
    FROM email_fetch_queue;
DROP TABLE email_fetch_queue;
ALTER TABLE email_fetch_queue_v4 RENAME TO email_fetch_queue;
-- Due items are taken in id order: an index in that order stops after a
-- round's worth instead of sorting the whole backlog every round.
CREATE INDEX email_fetch_queue_due ON email_fetch_queue (account_id, kind, id);

-- The directory items (addresses, domains) already searched in each
-- mailbox, so a directory change searches only what is new; and how many
-- messages the searches queued (status: investor mail done / listed).
ALTER TABLE email_accounts ADD COLUMN searched_items_json TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(searched_items_json));
ALTER TABLE email_accounts ADD COLUMN investor_listed INTEGER NOT NULL DEFAULT 0;
