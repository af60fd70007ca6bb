-- email-sidecar schema, version 10: snippets stored as text.
--
-- Gmail sends a message's snippet HTML-escaped. Earlier versions stored it
-- as sent, so the activity list, proposal notes written from a snippet,
-- the digest and free-text search all saw `I&#39;m`. New mail is decoded
-- when parsed (parse::snippet_text); this decodes what is stored. Gmail
-- escapes exactly these five; `&amp;` goes last, so an escaped entity in
-- the text (`&amp;lt;`) becomes its literal self (`&lt;`), not `<`.
-- Matched rows are re-indexed by V9's edit trigger.

UPDATE emails SET snippet =
    replace(replace(replace(replace(replace(snippet,
        '&#39;', ''''), '&quot;', '"'), '&lt;', '<'), '&gt;', '>'), '&amp;', '&')
WHERE instr(snippet, '&') > 0;

-- Undecided deterministic notes were written from those snippets when the
-- body was not yet stored. Decided notes are part of the record (the feed
-- already carries them), and LLM notes are the model's own text: both stay
-- as they were.
UPDATE email_proposals SET note =
    replace(replace(replace(replace(replace(note,
        '&#39;', ''''), '&quot;', '"'), '&lt;', '<'), '&gt;', '>'), '&amp;', '&')
WHERE status = 'pending' AND note_source = 'deterministic' AND instr(note, '&') > 0;
