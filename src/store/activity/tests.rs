//! The activity walk against a plain Rust oracle over hand-seeded rows:
//! every plan (unfiltered, direction, investor, mailbox, text) and both
//! text paths (trigram index in key order, page-order walk) give the same
//! pages, also across emails that share a millisecond,
//! and the V6 triggers keep the copied columns right through the changes
//! capture makes (links appear and go, a copy is deleted or re-pointed).

use rusqlite::params;

use super::*;

#[test]
fn like_patterns_take_wildcards_and_the_escape_literally() {
    for (q, want) in [
        ("100%", "%100\\%%"),
        ("a_b", "%a\\_b%"),
        ("c:\\x", "%c:\\\\x%"),
        ("'; DROP TABLE emails; --", "%'; DROP TABLE emails; --%"),
        ("plain", "%plain%"),
    ] {
        assert_eq!(like_pattern(q), want, "{q}");
    }
}

const SUBJECTS: &[&str] = &[
    "100% committed",
    "100 x return",
    "snake_case notes",
    "snakeXcase notes",
    "Über den Fonds",
    "über alles",
    "ÜBER LOUD",
    "Quarterly \"report\"",
    "O'Brien intro",
    "back\\slash",
    "Capital call notice",
    "capital CALL again",
];

/// One seeded email as the oracle sees it.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    date_ms: i64,
    subject: String,
    from_name: String,
    outbound: bool,
    investors: Vec<String>,
    /// (account, live)
    copies: Vec<(i64, bool)>,
}

fn seed(store: &Store) -> Vec<Row> {
    let rows = rows();
    store.write(|c| write_rows(c, &rows)).unwrap();
    rows
}

/// 72 emails over ten instants: many share a millisecond, some are dated
/// before 1970 or past the text key's date range.
fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for n in 0..72i64 {
        let subject = SUBJECTS[n as usize % SUBJECTS.len()].to_string();
        let mut investors = Vec::new();
        if n % 4 != 0 {
            investors.push(format!("inv{}", n % 3));
        }
        if n % 9 == 1 {
            investors.push("inv-grave".into());
        }
        let copies = vec![(1, n % 7 != 3), (2, n % 5 == 0)];
        rows.push(Row {
            id: n + 1,
            date_ms: match n % 10 {
                8 => -n,
                9 => (1 << 50) + n % 3,
                k => 1_000 * k,
            },
            subject,
            from_name: if n % 6 == 0 {
                "Zoë 100%".into()
            } else {
                "Jo".into()
            },
            outbound: n % 3 == 0,
            investors,
            copies,
        });
    }
    rows
}

/// Writes `rows` newest id first, so a millisecond's text keys are not in
/// id order and the store has to sort within a key block.
fn write_rows(c: &mut rusqlite::Connection, rows: &[Row]) -> Result<(), StoreError> {
    let tx = c.transaction()?;
    tx.execute_batch(
        "INSERT INTO email_accounts (id, email, auth_method, created_at, updated_at) \
         VALUES (1, 'a@fund.test', 'dwd', 0, 0), (2, 'b@fund.test', 'dwd', 0, 0)",
    )?;
    for r in rows.iter().rev() {
        insert(&tx, r)?;
    }
    tx.commit()?;
    Ok(())
}

/// The way capture writes: email, copies, then links and the flag.
fn insert(c: &rusqlite::Connection, r: &Row) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO emails (id, message_id, subject, from_email, from_name, date_ms, snippet, \
           direction, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0)",
        params![
            r.id,
            format!("m{}@x", r.id),
            r.subject,
            format!("p{}@acme.vc", r.id),
            r.from_name,
            r.date_ms,
            format!("snippet {}", r.id),
            if r.outbound { "outbound" } else { "inbound" }
        ],
    )?;
    for (a, live) in &r.copies {
        c.execute(
            "INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, \
               gmail_thread_id, deleted_at, first_seen_at, updated_at) \
             VALUES (?1, ?2, ?3, 't', ?4, 0, 0)",
            params![a, r.id, format!("g{}", r.id), (!live).then_some(5)],
        )?;
    }
    for inv in &r.investors {
        c.execute(
            "INSERT INTO email_investor_links (email_id, investor_id, strategy, matched_address, \
               created_at) VALUES (?1, ?2, 'domain', 'x@acme.vc', 0)",
            params![r.id, inv],
        )?;
    }
    c.execute(
        "UPDATE emails SET is_matched = ?2 WHERE id = ?1",
        params![r.id, !r.investors.is_empty()],
    )?;
    Ok(())
}

fn ci_contains(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// What the store must list, newest first.
fn oracle(rows: &[Row], f: &ActivityFilter) -> Vec<i64> {
    let mut v: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.investors.is_empty() && r.copies.iter().any(|c| c.1))
        .filter(|r| {
            f.investor_id
                .as_ref()
                .is_none_or(|i| r.investors.contains(i))
        })
        .filter(|r| f.account_id.is_none_or(|a| r.copies.contains(&(a, true))))
        .filter(|r| {
            f.direction
                .is_none_or(|d| r.outbound == (d == Direction::Outbound))
        })
        .filter(|r| {
            f.q.as_deref().is_none_or(|q| {
                let texts = [
                    r.subject.clone(),
                    format!("snippet {}", r.id),
                    format!("p{}@acme.vc", r.id),
                    r.from_name.clone(),
                ];
                texts.iter().any(|t| ci_contains(t, q))
            })
        })
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse((r.date_ms, r.id)));
    v.into_iter().map(|r| r.id).collect()
}

/// Every id the walk gives in pages of 3, on text path `path`.
fn paged(store: &Store, f: &ActivityFilter, path: TextPath) -> Vec<i64> {
    let mut out = Vec::new();
    let mut from = Cursor::START;
    loop {
        let mut page = Vec::new();
        store
            .read(|c| {
                walk_by(c, f, from, path, |core| {
                    page.push(core.cursor());
                    Ok(page.len() < 3)
                })
            })
            .unwrap();
        let Some(last) = page.last() else { return out };
        from = *last;
        out.extend(page.iter().map(|c| c.id));
    }
}

fn filters() -> Vec<ActivityFilter> {
    let mut out = Vec::new();
    let qs = [
        None,
        Some("100%"),
        Some("%"),
        Some("_"),
        Some("e_c"),
        Some("über"),
        Some("ÜBER"),
        Some("\"report\""),
        Some("'"),
        Some("\\"),
        Some("capital call"),
        Some("zoë"),
        Some("p1"),
        Some("nothing at all"),
    ];
    for q in qs {
        for (investor, account, direction) in [
            (None, None, None),
            (Some("inv1"), None, None),
            (Some("inv-grave"), None, None),
            (None, Some(1), None),
            (None, Some(2), None),
            (None, None, Some(Direction::Outbound)),
            (Some("inv2"), Some(1), Some(Direction::Inbound)),
        ] {
            out.push(ActivityFilter {
                investor_id: investor.map(String::from),
                account_id: account,
                direction,
                q: q.map(String::from),
            });
        }
    }
    out
}

#[test]
fn every_plan_and_both_text_paths_list_exactly_the_oracles_emails() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a.db")).unwrap();
    let mut rows = seed(&store);
    // What capture does later: a link removed (unmatched), a copy deleted,
    // a copy re-pointed at another email, a copy restored.
    store
        .write(|c| {
            c.execute_batch(
                "DELETE FROM email_investor_links WHERE email_id = 2; \
                 UPDATE emails SET is_matched = 0 WHERE id = 2; \
                 UPDATE email_account_messages SET deleted_at = 9 WHERE email_id = 6; \
                 UPDATE email_account_messages SET email_id = 16 WHERE email_id = 11 AND account_id = 2; \
                 UPDATE email_account_messages SET deleted_at = NULL WHERE email_id = 4 AND account_id = 1;",
            )?;
            Ok(())
        })
        .unwrap();
    rows[1].investors.clear();
    rows[5].copies.iter_mut().for_each(|c| c.1 = false);
    // A second live copy of email 16 in mailbox 2: listed once.
    let moved = rows[10].copies.remove(1);
    assert_eq!(moved, (2, true));
    rows[15].copies.push(moved);
    rows[3].copies[0].1 = true;
    for f in filters() {
        let want = oracle(&rows, &f);
        assert_eq!(
            paged(&store, &f, TextPath::Scan),
            want,
            "walked text path, {f:?}"
        );
        assert_eq!(
            paged(&store, &f, TextPath::Index),
            want,
            "trigram path, {f:?}"
        );
        let page = store.activity(&f, None, 500).unwrap();
        let ids: Vec<i64> = page.items.iter().map(|i| i.email_id).collect();
        assert_eq!(ids, want, "store.activity, {f:?}");
        assert_eq!(page.next, None);
    }
    let all = oracle(&rows, &ActivityFilter::default());
    assert!(all.len() > 30, "{}", all.len());
}

#[test]
fn mail_indexed_before_version_9_is_searched_in_page_order_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    assert_eq!(Store::migrate_to(&path, 8).unwrap().last(), Some(&8));
    let rows = rows();
    write_rows(&mut rusqlite::Connection::open(&path).unwrap(), &rows).unwrap();
    let store = Store::open(&path).unwrap();
    let keys: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM email_text_keys", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(
        keys,
        rows.iter().filter(|r| !r.investors.is_empty()).count() as i64
    );
    for f in filters() {
        let want = oracle(&rows, &f);
        assert_eq!(
            paged(&store, &f, TextPath::Index),
            want,
            "trigram path, {f:?}"
        );
        assert_eq!(
            paged(&store, &f, TextPath::Scan),
            want,
            "walked text path, {f:?}"
        );
    }
}

#[test]
fn a_text_key_follows_its_email_through_edits_unmatching_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a.db")).unwrap();
    let mut rows = seed(&store);
    store
        .write(|c| {
            c.execute_batch(
                "UPDATE emails SET subject = 'Renamed capital call', date_ms = 500 WHERE id = 3; \
                 UPDATE emails SET is_matched = 0 WHERE id = 6; \
                 DELETE FROM email_investor_links WHERE email_id = 6; \
                 DELETE FROM email_account_messages WHERE email_id = 7; \
                 DELETE FROM email_investor_links WHERE email_id = 7; \
                 DELETE FROM emails WHERE id = 7;",
            )?;
            Ok(())
        })
        .unwrap();
    rows[2].subject = "Renamed capital call".into();
    rows[2].date_ms = 500;
    rows[5].investors.clear();
    rows.remove(6);
    let (keys, text): (i64, i64) = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT count(*) FROM email_text_keys), \
                        (SELECT count(*) FROM email_text_keys k JOIN emails e ON e.id = k.email_id \
                         WHERE e.is_matched = 1 AND k.key >> 20 = max(0, min(e.date_ms, ?1)))",
                [KEY_DATE_MAX],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    let matched = rows.iter().filter(|r| !r.investors.is_empty()).count() as i64;
    assert_eq!(
        (keys, text),
        (matched, matched),
        "one key per matched email, of its date"
    );
    for q in ["renamed", "capital", "jo", "100%"] {
        let f = ActivityFilter {
            q: Some(q.into()),
            ..ActivityFilter::default()
        };
        assert_eq!(paged(&store, &f, TextPath::Index), oracle(&rows, &f), "{q}");
    }
}
