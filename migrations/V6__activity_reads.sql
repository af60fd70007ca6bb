-- email-sidecar schema, version 6: what the admin reads (SPEC §8 activity,
-- threads) need to answer a page in milliseconds on a million emails.
--
-- A page is newest first on (emails.date_ms, emails.id). Each filter gets
-- an index already in that order, so a page reads about `limit` rows
-- whatever the filter, instead of sorting everything the filter matches:
-- * unfiltered and by direction: partial indexes on matched `emails`;
-- * by investor: the link carries its email's date (`email_date_ms`);
-- * by mailbox: the sighting carries its email's date and matched flag.
-- The copies are kept by triggers below, so no writer has to know about
-- them; an email's date never changes after capture, and its matched flag
-- changes only when its links do.
-- Free text (`q`) has a trigram full-text index over the matched emails'
-- subject, snippet and sender (contentless: it stores no second copy of
-- the text; the store verifies every candidate with LIKE anyway).

ALTER TABLE email_account_messages ADD COLUMN email_date_ms INTEGER;
ALTER TABLE email_account_messages ADD COLUMN email_matched INTEGER NOT NULL DEFAULT 0;
ALTER TABLE email_investor_links ADD COLUMN email_date_ms INTEGER;

UPDATE email_account_messages SET (email_date_ms, email_matched) =
    (SELECT e.date_ms, e.is_matched FROM emails e WHERE e.id = email_account_messages.email_id);
UPDATE email_investor_links SET email_date_ms =
    (SELECT e.date_ms FROM emails e WHERE e.id = email_investor_links.email_id);

CREATE TRIGGER email_sightings_copy_email_on_insert AFTER INSERT ON email_account_messages
BEGIN
    UPDATE email_account_messages SET (email_date_ms, email_matched) =
        (SELECT e.date_ms, e.is_matched FROM emails e WHERE e.id = NEW.email_id)
    WHERE id = NEW.id;
END;

-- A re-captured copy may be re-pointed at another email (upsert).
CREATE TRIGGER email_sightings_copy_email_on_move AFTER UPDATE OF email_id ON email_account_messages
BEGIN
    UPDATE email_account_messages SET (email_date_ms, email_matched) =
        (SELECT e.date_ms, e.is_matched FROM emails e WHERE e.id = NEW.email_id)
    WHERE id = NEW.id;
END;

CREATE TRIGGER email_links_copy_date_on_insert AFTER INSERT ON email_investor_links
BEGIN
    UPDATE email_investor_links SET email_date_ms =
        (SELECT e.date_ms FROM emails e WHERE e.id = NEW.email_id)
    WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER emails_matched_to_sightings AFTER UPDATE OF is_matched ON emails
WHEN OLD.is_matched IS NOT NEW.is_matched
BEGIN
    UPDATE email_account_messages SET email_matched = NEW.is_matched WHERE email_id = NEW.id;
END;

CREATE TRIGGER emails_date_to_copies AFTER UPDATE OF date_ms ON emails
WHEN OLD.date_ms IS NOT NEW.date_ms
BEGIN
    UPDATE email_account_messages SET email_date_ms = NEW.date_ms WHERE email_id = NEW.id;
    UPDATE email_investor_links SET email_date_ms = NEW.date_ms WHERE email_id = NEW.id;
END;

-- Live sightings of an email (the "is it live" probe of every page row).
CREATE INDEX email_sightings_live_by_email ON email_account_messages (email_id, account_id)
    WHERE deleted_at IS NULL AND is_trash = 0 AND is_spam = 0;
-- One mailbox's live matched mail, newest first.
CREATE INDEX email_sightings_activity ON email_account_messages
    (account_id, email_date_ms DESC, email_id DESC)
    WHERE email_matched = 1 AND deleted_at IS NULL AND is_trash = 0 AND is_spam = 0;
-- One investor's mail, newest first.
CREATE INDEX email_links_activity ON email_investor_links
    (investor_id, email_date_ms DESC, email_id DESC);
-- Matched mail of one direction, newest first.
CREATE INDEX emails_matched_by_direction ON emails (direction, date_ms DESC, id DESC)
    WHERE is_matched = 1;

-- Free text over matched email. Trigram: any substring of 3+ characters,
-- case-insensitive; rowid = emails.id.
CREATE VIRTUAL TABLE email_text USING fts5 (
    subject, snippet, from_email, from_name,
    content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 0'
);
INSERT INTO email_text (rowid, subject, snippet, from_email, from_name)
    SELECT id, subject, snippet, from_email, from_name FROM emails WHERE is_matched = 1;

CREATE TRIGGER email_text_on_insert AFTER INSERT ON emails WHEN NEW.is_matched = 1
BEGIN
    INSERT INTO email_text (rowid, subject, snippet, from_email, from_name)
        VALUES (NEW.id, NEW.subject, NEW.snippet, NEW.from_email, NEW.from_name);
END;

CREATE TRIGGER email_text_on_match AFTER UPDATE OF is_matched ON emails
WHEN NEW.is_matched = 1 AND OLD.is_matched = 0
BEGIN
    INSERT INTO email_text (rowid, subject, snippet, from_email, from_name)
        VALUES (NEW.id, NEW.subject, NEW.snippet, NEW.from_email, NEW.from_name);
END;

CREATE TRIGGER email_text_on_unmatch AFTER UPDATE OF is_matched ON emails
WHEN NEW.is_matched = 0 AND OLD.is_matched = 1
BEGIN
    DELETE FROM email_text WHERE rowid = OLD.id;
END;

CREATE TRIGGER email_text_on_edit AFTER UPDATE OF subject, snippet, from_email, from_name ON emails
WHEN NEW.is_matched = 1 AND OLD.is_matched = 1
BEGIN
    DELETE FROM email_text WHERE rowid = OLD.id;
    INSERT INTO email_text (rowid, subject, snippet, from_email, from_name)
        VALUES (NEW.id, NEW.subject, NEW.snippet, NEW.from_email, NEW.from_name);
END;

CREATE TRIGGER email_text_on_delete AFTER DELETE ON emails WHEN OLD.is_matched = 1
BEGIN
    DELETE FROM email_text WHERE rowid = OLD.id;
END;
