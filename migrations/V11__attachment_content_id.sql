-- email-sidecar schema, version 11: attachments keep their Content-ID.
--
-- An HTML body shows its inline images (signatures, logos, charts) as
-- `<img src="cid:…">`, naming a part of the same email by its Content-ID.
-- `emails/{id}` points such an image at the part's attachment download,
-- which needs the id recorded here (angle brackets removed, case as sent).
-- Rows captured before this version keep NULL: their images stay `cid:`
-- references (as they were shown before), nothing is refetched for them.

ALTER TABLE email_attachments ADD COLUMN content_id TEXT;
