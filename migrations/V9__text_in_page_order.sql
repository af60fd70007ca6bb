-- email-sidecar schema, version 9: free text read in page order.
--
-- V6's trigram index used email ids as rowids, so the hits of a common
-- string came out in id order: the store either sorted every hit by date
-- or walked the page order testing LIKE on each row, which is slow when
-- the hits are old (issue 4's benchmark: a sender name on 3% of mail).
-- Here each indexed email gets an order key that sorts like its date:
--     key = (date_ms clamped to [0, 2^42)) << 20  +  slot
-- where the slot numbers the emails of one millisecond in arrival order.
-- The index is then read newest first by key (FTS5 walks rowids in either
-- direction) and stops as soon as a page is full, whatever the string.
-- Emails sharing a key block (same millisecond, or a date outside the
-- clamp) are put in exact (date_ms, id) order by the store; that is rare
-- and such a block is small. A millisecond has 2^20 slots; a 2^20+1st
-- matched email stamped with the same millisecond would take the next
-- millisecond's first key (listed a millisecond out of order) or, if that
-- is taken, fail its insert: neither is reachable by real mail.
--
-- Cost: FTS5 delta-encodes rowids, and keys are sparser than email ids, so
-- the index is larger (about +10% of the whole database in the activity
-- benchmark: 1,506 -> 1,654 MB at 1,000,000 emails).
--
-- email_text_keys holds the keys; the triggers on `emails` only ask for
-- and remove keys (through the view email_text_key_requests, which alone
-- knows the slot rule), and the triggers on email_text_keys keep
-- email_text.

DROP TRIGGER email_text_on_insert;
DROP TRIGGER email_text_on_match;
DROP TRIGGER email_text_on_unmatch;
DROP TRIGGER email_text_on_edit;
DROP TRIGGER email_text_on_delete;
DROP TABLE email_text;

CREATE VIRTUAL TABLE email_text USING fts5 (
    subject, snippet, from_email, from_name,
    content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 0'
);

CREATE TABLE email_text_keys (
    key      INTEGER PRIMARY KEY,
    email_id INTEGER NOT NULL UNIQUE
);

CREATE TRIGGER email_text_keys_on_insert AFTER INSERT ON email_text_keys
BEGIN
    INSERT INTO email_text (rowid, subject, snippet, from_email, from_name)
        SELECT NEW.key, subject, snippet, from_email, from_name FROM emails WHERE id = NEW.email_id;
END;

CREATE TRIGGER email_text_keys_on_delete AFTER DELETE ON email_text_keys
BEGIN
    DELETE FROM email_text WHERE rowid = OLD.key;
END;

-- Existing matched mail: slots by id within each millisecond.
INSERT INTO email_text_keys (key, email_id)
    SELECT (max(0, min(date_ms, 4398046511103)) << 20)
               + row_number() OVER (PARTITION BY max(0, min(date_ms, 4398046511103)) ORDER BY id)
               - 1,
           id
    FROM emails WHERE is_matched = 1;

-- The one place a key is chosen: a row inserted into this (empty) view
-- gets the next free key of its millisecond block. The triggers on
-- `emails` below ask for keys through it.
CREATE VIEW email_text_key_requests (email_id, date_ms) AS SELECT NULL, NULL WHERE 0;

CREATE TRIGGER email_text_key_assign INSTEAD OF INSERT ON email_text_key_requests
BEGIN
    INSERT INTO email_text_keys (key, email_id) VALUES (
        coalesce(
            (SELECT max(key) + 1 FROM email_text_keys
             WHERE key >= max(0, min(NEW.date_ms, 4398046511103)) << 20
               AND key < (max(0, min(NEW.date_ms, 4398046511103)) + 1) << 20),
            max(0, min(NEW.date_ms, 4398046511103)) << 20),
        NEW.email_id);
END;

CREATE TRIGGER email_text_on_insert AFTER INSERT ON emails WHEN NEW.is_matched = 1
BEGIN
    INSERT INTO email_text_key_requests (email_id, date_ms) VALUES (NEW.id, NEW.date_ms);
END;

CREATE TRIGGER email_text_on_match AFTER UPDATE OF is_matched ON emails
WHEN NEW.is_matched = 1 AND OLD.is_matched = 0
BEGIN
    INSERT INTO email_text_key_requests (email_id, date_ms) VALUES (NEW.id, NEW.date_ms);
END;

CREATE TRIGGER email_text_on_unmatch AFTER UPDATE OF is_matched ON emails
WHEN NEW.is_matched = 0 AND OLD.is_matched = 1
BEGIN
    DELETE FROM email_text_keys WHERE email_id = OLD.id;
END;

-- A change to indexed text, or to the date the key is made from.
CREATE TRIGGER email_text_on_edit
AFTER UPDATE OF subject, snippet, from_email, from_name, date_ms ON emails
WHEN NEW.is_matched = 1 AND OLD.is_matched = 1
BEGIN
    DELETE FROM email_text_keys WHERE email_id = OLD.id;
    INSERT INTO email_text_key_requests (email_id, date_ms) VALUES (NEW.id, NEW.date_ms);
END;

CREATE TRIGGER email_text_on_delete AFTER DELETE ON emails WHEN OLD.is_matched = 1
BEGIN
    DELETE FROM email_text_keys WHERE email_id = OLD.id;
END;
