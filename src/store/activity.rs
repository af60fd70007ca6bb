//! Reads behind the admin panel (issue 4): the activity list (matched-only, live-only, filters, keyset pages), one email's detail, attachment lookup, threads.
