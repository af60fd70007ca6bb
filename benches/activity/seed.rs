//! Seeds the benchmark's store straight through SQLite (bulk inserts in a
//! few large transactions; the V6 triggers run as they would for capture):
//! mail shaped like a fund's, see the bench's module doc.

use std::path::Path;

use email_sidecar::store::activity::Cursor;
use email_sidecar::store::{
    Directory, DirectoryContact, DirectoryInvestor, DirectoryUser, Store, UserRole,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};

pub const ADMIN: &str = "bench-admin@fund.test";
/// In one subject phrase of twelve: a common search.
pub const COMMON_WORD: &str = "update";
/// In about one subject in 2,000.
pub const RARE_WORD: &str = "kestrel";
/// In a fifth of the first six months' subjects and never after: a common
/// string whose hits are all old (the newest-first walk's worst case).
pub const OLD_WORD: &str = "halcyon";
const SIX_MONTHS_MS: i64 = 182 * 86_400_000;
const INVESTORS: usize = 2_000;
const MAILBOXES: usize = 20;
const FIVE_YEARS_MS: i64 = 5 * 365 * 86_400_000;
const START_MS: i64 = 1_640_995_200_000; // 2022-01-01
const CHUNK: usize = 50_000;

const PHRASES: &[&str] = &[
    "Q3 portfolio update",
    "Intro call next week",
    "Term sheet draft",
    "LP meeting notes",
    "Follow-up on our chat",
    "Board deck",
    "Co-invest opportunity",
    "Capital call notice",
    "Quarterly report",
    "Diligence questions",
    "Fund II close",
    "Annual meeting agenda",
];
const WORDS: &[&str] = &[
    "thanks",
    "numbers",
    "quarter",
    "deck",
    "call",
    "timing",
    "wire",
    "allocation",
    "memo",
    "draft",
    "team",
    "market",
    "growth",
    "revenue",
    "valuation",
    "round",
    "board",
    "next",
    "week",
    "notes",
    "attached",
    "please",
    "review",
    "confirm",
    "details",
    "follow",
    "plan",
];
const FIRST: &[&str] = &[
    "Jo", "Sam", "Ana", "Li", "Omar", "Eva", "Ravi", "Mia", "Tom", "Zoë",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Chen", "Okonkwo", "Müller", "Rossi", "Kim", "Singh", "Novak", "Silva",
    "Brown", "Dubois", "Tanaka", "Larsen", "Haddad", "Costa", "Ivanova", "Moreau", "Ali", "Berg",
];

pub fn mailboxes() -> Vec<String> {
    (0..MAILBOXES)
        .map(|i| format!("partner{i:02}@fund.test"))
        .collect()
}

/// What was seeded, and the parameters the cases rotate through.
pub struct Seeded {
    pub emails: usize,
    pub matched: usize,
    pub live_matched: i64,
    pub sightings: usize,
    pub links: usize,
    pub accounts: Vec<i64>,
    pub sample_investors: Vec<String>,
    pub largest_investor: String,
    pub deep_cursors: Vec<Cursor>,
}

fn directory() -> Directory {
    let mut users = vec![DirectoryUser {
        id: "u-admin".into(),
        email: ADMIN.into(),
        name: "Admin".into(),
        role: UserRole::Admin,
        active: true,
    }];
    users.extend(
        mailboxes()
            .into_iter()
            .enumerate()
            .map(|(i, m)| DirectoryUser {
                id: format!("u-{i}"),
                email: m,
                name: format!("Partner {i}"),
                role: UserRole::Member,
                active: true,
            }),
    );
    Directory {
        users,
        investors: (0..INVESTORS)
            .map(|k| DirectoryInvestor {
                id: inv(k),
                name: format!("Investor {k}"),
                domains: vec![format!("inv{k}.example")],
                graveyard: k % 50 == 0,
            })
            .collect(),
        contacts: (0..INVESTORS * 2)
            .map(|c| DirectoryContact {
                id: format!("c-{c}"),
                investor_id: inv(c / 2),
                email: contact(c / 2, c % 2),
                name: format!("Contact {c}"),
            })
            .collect(),
        exclusions: Vec::new(),
    }
}

fn inv(k: usize) -> String {
    format!("inv-{k:04}")
}

fn contact(k: usize, j: usize) -> String {
    format!("c{j}@inv{k}.example")
}

pub fn seed(store: &Store, db: &Path, n: usize) -> Seeded {
    store.replace_directory(&directory()).unwrap();
    let mut c = Connection::open(db).unwrap();
    c.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;").unwrap();
    let accounts: Vec<(i64, String)> = {
        let mut s = c
            .prepare("SELECT id, email FROM email_accounts ORDER BY id")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut g = Gen {
        rng: StdRng::seed_from_u64(0xac71_7171),
        threads: Vec::new(),
        next_thread: 1,
        counts: (0, 0, 0),
    };
    let mut start = 0;
    while start < n {
        let tx = c.transaction().unwrap();
        for i in start..(start + CHUNK).min(n) {
            g.email(&tx, i as i64 + 1, &accounts);
        }
        tx.commit().unwrap();
        start += CHUNK;
    }
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    finish(&c, n, g.counts, accounts.iter().map(|a| a.0).collect())
}

struct Gen {
    rng: StdRng,
    /// Recent threads a new email may join.
    threads: Vec<i64>,
    next_thread: i64,
    /// matched, sightings, links
    counts: (usize, usize, usize),
}

impl Gen {
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.rng.gen_range(0..xs.len())]
    }

    /// Skewed toward low indexes: a few big investors, a long tail.
    fn skewed(&mut self, n: usize, power: f64) -> usize {
        ((self.rng.gen::<f64>().powf(power) * n as f64) as usize).min(n - 1)
    }

    fn email(&mut self, tx: &Connection, id: i64, accounts: &[(i64, String)]) {
        let date = START_MS + self.rng.gen_range(0..FIVE_YEARS_MS);
        let matched = self.rng.gen_bool(0.2);
        let outbound = self.rng.gen_bool(0.35);
        let home = self.skewed(accounts.len(), 1.5);
        let investors: Vec<usize> = if matched {
            let k = if self.rng.gen_bool(0.9) { 1 } else { 2 };
            let mut v: Vec<usize> = (0..k).map(|_| self.skewed(INVESTORS, 2.5)).collect();
            v.dedup();
            v
        } else {
            Vec::new()
        };
        let (first, last) = (self.pick(FIRST), self.pick(LAST));
        let name = format!("{first} {last}");
        let counterpart = match investors.first() {
            Some(&k) => contact(k, self.rng.gen_range(0..2)),
            None if self.rng.gen_bool(0.3) => {
                format!("{}@gmail.com", name.to_lowercase().replace(' ', "."))
            }
            None => format!(
                "{}@firm{}.example",
                first.to_lowercase(),
                self.rng.gen_range(0..5_000)
            ),
        };
        let ours = accounts[home].1.clone();
        let (from, from_name, to) = if outbound {
            (ours.clone(), format!("Partner {home}"), counterpart)
        } else {
            (counterpart, name, ours.clone())
        };
        let mut subject = self.pick(PHRASES).to_string();
        if self.rng.gen_bool(0.0005) {
            subject.push_str(" Kestrel");
        }
        // No random draw, so the rest of the world is seeded as before.
        if date < START_MS + SIX_MONTHS_MS && id % 5 == 0 {
            subject.push_str(" Halcyon");
        }
        subject.push_str(&format!(" #{id}"));
        let words: Vec<&str> = (0..self.rng.gen_range(12..24))
            .map(|_| self.pick(WORDS))
            .collect();
        let snippet = words.join(" ");
        let thread = self.thread();
        let headers = headers(id, &from_name, &from, &to, &subject);
        let body = matched.then(|| {
            format!(
                "Hi,\n\n{}\n\n{}\n\nBest,\n{from_name}",
                snippet,
                words.repeat(4).join(" ")
            )
        });
        let has_att = matched && self.rng.gen_bool(0.2);
        tx.prepare_cached(
            "INSERT INTO emails (id, message_id, thread_id, subject, from_email, from_name, date_ms, snippet, \
               size_bytes, direction, is_matched, headers_json, has_body, body_text, has_attachments, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0, 0)",
        )
        .unwrap()
        .execute(params![id, format!("b{id}@bench"), thread, subject, from, from_name, date, snippet, 4096,
            if outbound { "outbound" } else { "inbound" }, matched, headers, matched, body, has_att])
        .unwrap();
        self.participants(tx, id, [&from, &from_name, &to], accounts);
        self.copies(tx, id, home, outbound, accounts);
        self.links(tx, id, &investors);
        self.counts.0 += usize::from(matched);
    }

    /// From, To and sometimes a teammate in Cc.
    fn participants(
        &mut self,
        tx: &Connection,
        id: i64,
        [from, from_name, to]: [&str; 3],
        accounts: &[(i64, String)],
    ) {
        let mut p = tx
            .prepare_cached("INSERT OR IGNORE INTO email_participants (email_id, role, address, domain, name) VALUES (?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        let domain = |a: &str| {
            a.rsplit_once('@')
                .map_or(String::new(), |x| x.1.to_string())
        };
        p.execute(params![id, "from", from, domain(from), from_name])
            .unwrap();
        p.execute(params![id, "to", to, domain(to), ""]).unwrap();
        if self.rng.gen_bool(0.4) {
            let cc = &accounts[self.rng.gen_range(0..accounts.len())].1;
            p.execute(params![id, "cc", cc, domain(cc), ""]).unwrap();
        }
    }

    fn links(&mut self, tx: &Connection, id: i64, investors: &[usize]) {
        for (n, &k) in investors.iter().enumerate() {
            let strategy = if n == 0 && self.rng.gen_bool(0.7) {
                "exact"
            } else {
                "domain"
            };
            tx.prepare_cached("INSERT INTO email_investor_links (email_id, investor_id, contact_id, strategy, matched_address, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0)")
                .unwrap()
                .execute(params![id, inv(k), (strategy == "exact").then(|| format!("c-{}", k * 2)), strategy, contact(k, 0)])
                .unwrap();
            self.counts.2 += 1;
        }
    }

    fn thread(&mut self) -> i64 {
        if !self.threads.is_empty() && self.rng.gen_bool(0.4) {
            return self.threads[self.rng.gen_range(0..self.threads.len())];
        }
        let t = self.next_thread;
        self.next_thread += 1;
        if self.threads.len() < 500 {
            self.threads.push(t);
        } else {
            let i = self.rng.gen_range(0..500);
            self.threads[i] = t;
        }
        t
    }

    /// 1–3 copies, the first in the home mailbox; some deleted, trashed or spam.
    fn copies(
        &mut self,
        tx: &Connection,
        id: i64,
        home: usize,
        outbound: bool,
        accounts: &[(i64, String)],
    ) {
        let n = match self.rng.gen_range(0..100) {
            0..=74 => 1,
            75..=94 => 2,
            _ => 3,
        };
        let mut boxes = vec![home];
        while boxes.len() < n {
            let b = self.rng.gen_range(0..accounts.len());
            if !boxes.contains(&b) {
                boxes.push(b);
            }
        }
        for (k, b) in boxes.into_iter().enumerate() {
            let fate = self.rng.gen_range(0..100);
            let (deleted, trash, spam) = (fate < 5, fate == 5 || fate == 6, fate == 7);
            let sent = outbound && k == 0;
            let labels = if trash {
                "[\"TRASH\"]"
            } else if spam {
                "[\"SPAM\"]"
            } else if sent {
                "[\"SENT\"]"
            } else {
                "[\"INBOX\",\"UNREAD\"]"
            };
            tx.prepare_cached(
                "INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, gmail_thread_id, labels_json, \
                   is_sent, is_inbox, is_trash, is_spam, deleted_at, first_seen_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, 0)",
            )
            .unwrap()
            .execute(params![accounts[b].0, id, format!("{id:x}"), format!("t{id:x}"), labels, sent, !sent && !trash && !spam, trash, spam, deleted.then_some(1)])
            .unwrap();
            self.counts.1 += 1;
        }
    }
}

/// About as many headers as capture keeps (the row size matters to reads).
fn headers(id: i64, from_name: &str, from: &str, to: &str, subject: &str) -> String {
    format!(
        "[{{\"name\":\"From\",\"value\":\"{from_name} <{from}>\"}},{{\"name\":\"To\",\"value\":\"{to}\"}},\
         {{\"name\":\"Subject\",\"value\":\"{subject}\"}},{{\"name\":\"Message-ID\",\"value\":\"<b{id}@bench>\"}},\
         {{\"name\":\"Received\",\"value\":\"from mail.example by mx.google.com with ESMTPS id {id}; Tue, 3 Nov 2026 10:00:00 +0000\"}},\
         {{\"name\":\"X-Mailer\",\"value\":\"bench\"}}]"
    )
}

fn finish(c: &Connection, n: usize, counts: (usize, usize, usize), accounts: Vec<i64>) -> Seeded {
    // The threads the emails name, with their dates.
    c.execute_batch(
        "INSERT INTO email_threads (id, subject_normalized, first_date_ms, last_date_ms, created_at, updated_at) \
         SELECT thread_id, '', min(date_ms), max(date_ms), 0, 0 FROM emails GROUP BY thread_id",
    )
    .unwrap();
    let live = "EXISTS (SELECT 1 FROM email_account_messages s WHERE s.email_id = e.id AND s.deleted_at IS NULL AND s.is_trash = 0 AND s.is_spam = 0)";
    let live_matched: i64 = c
        .query_row(
            &format!("SELECT count(*) FROM emails e WHERE e.is_matched = 1 AND {live}"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    let largest_investor: String = c
        .query_row("SELECT investor_id FROM email_investor_links GROUP BY investor_id ORDER BY count(*) DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let mut s = c
        .prepare("SELECT DISTINCT investor_id FROM email_investor_links ORDER BY investor_id")
        .unwrap();
    let all: Vec<String> = s
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let step = (all.len() / 50).max(1);
    let sample_investors = all.iter().step_by(step).cloned().collect();
    let mut deep_cursors = Vec::new();
    for frac in [0.2, 0.4, 0.6, 0.8] {
        let off = (live_matched as f64 * frac) as i64;
        let c: Option<Cursor> = c
            .query_row(
                &format!("SELECT date_ms, id FROM emails e WHERE e.is_matched = 1 AND {live} ORDER BY date_ms DESC, id DESC LIMIT 1 OFFSET ?1"),
                [off],
                |r| Ok(Cursor { date_ms: r.get(0)?, id: r.get(1)? }),
            )
            .ok();
        deep_cursors.extend(c);
    }
    Seeded {
        emails: n,
        matched: counts.0,
        live_matched,
        sightings: counts.1,
        links: counts.2,
        accounts,
        sample_investors,
        largest_investor,
        deep_cursors,
    }
}
