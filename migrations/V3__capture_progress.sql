-- email-sidecar schema, version 3: what the capture engine needs beyond V1.

-- A fetch that failed permanently (a 4xx other than 404, an unparsable
-- message, or transient failures past the attempt limit) stays in the
-- queue, marked, so nothing is silently dropped: status counts these and a
-- full sync re-queues them.
ALTER TABLE email_fetch_queue ADD COLUMN failed_at INTEGER;

-- Backfill progress for the status page and the progress bar: the
-- mailbox's size as getProfile reported it, and how many ids were listed.
ALTER TABLE email_accounts ADD COLUMN messages_total INTEGER;
ALTER TABLE email_accounts ADD COLUMN backfill_listed INTEGER NOT NULL DEFAULT 0;
-- The phase capture is in, shown by status (issue 7 adds 'investor-first').
ALTER TABLE email_accounts ADD COLUMN sync_phase TEXT NOT NULL DEFAULT 'backfill';
-- Every page of the backfill listing is queued (the page token alone
-- cannot say "finished": NULL also means "not started").
ALTER TABLE email_accounts ADD COLUMN backfill_listed_all INTEGER NOT NULL DEFAULT 0;
