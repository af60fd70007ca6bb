//! Activity and threads against the ground truth: a generated world is
//! delivered to fake Google, captured, changed the way users change mail
//! (deletes, trash, spam, new mail), captured again; then every list the
//! API gives, paged with small limits, must be exactly the truth's matched
//! live emails in order, with the truth's investors, direction and
//! mailboxes. Database ids are tied to world messages through their Gmail
//! ids (the world knows which message each one is); nothing else is read
//! from the database.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::support::app::{spawn_app, AppOptions, TestApp};
use super::support::snapshot::Snapshot;
use super::support::world::{World, WorldSpec};
use super::{all_pages, serve, sync_until_settled};

/// What the truth says one listed email must look like.
#[derive(Debug, Clone)]
struct Exp {
    date_ms: i64,
    thread: Option<i64>,
    subject: String,
    from_email: String,
    outbound: bool,
    /// (investor, contact, strategy)
    investors: BTreeSet<(String, Option<String>, String)>,
    accounts: BTreeSet<String>,
}

/// db email id → expectation, for the truth's matched live emails.
struct Expected(BTreeMap<i64, Exp>);

impl Expected {
    fn build(world: &World, app: &TestApp) -> Expected {
        let truth = world.truth();
        let want = truth.matched_live();
        let snap = Snapshot::take(&app.db_path(), &app.data_dir());
        let mut out = BTreeMap::new();
        let mut found = BTreeSet::new();
        for e in &snap.emails {
            let idx = e
                .sightings
                .iter()
                .find_map(|s| world.message_of(&s.mailbox, &s.gmail_message_id));
            let Some(idx) = idx.filter(|i| want.contains(i)) else {
                continue;
            };
            found.insert(idx);
            let t = &truth.emails[idx];
            let accounts = truth
                .sightings
                .iter()
                .filter(|(_, s)| s.msg == idx && s.live)
                .map(|((mb, _), _)| mb.clone())
                .collect();
            let investors = t
                .links
                .iter()
                .map(|(inv, l)| {
                    (
                        inv.clone(),
                        l.contact_id.clone(),
                        l.strategy.as_str().to_string(),
                    )
                })
                .collect();
            let exp = Exp {
                date_ms: t.date_ms,
                thread: e.thread_id,
                subject: t.subject.clone(),
                from_email: t.from_email.clone(),
                outbound: t.outbound,
                investors,
                accounts,
            };
            out.insert(e.id, exp);
        }
        assert_eq!(
            found, want,
            "capture lost matched live email; see capture_truth"
        );
        Expected(out)
    }

    /// Ids passing `keep`, newest first.
    fn list(&self, keep: impl Fn(&Exp) -> bool) -> Vec<i64> {
        let mut v: Vec<(i64, i64)> = self
            .0
            .iter()
            .filter(|(_, e)| keep(e))
            .map(|(id, e)| (e.date_ms, *id))
            .collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// Every item's fields equal the truth; the ids are `want`, in order.
    fn check(&self, what: &str, items: &[Value], want: &[i64]) {
        let got: Vec<i64> = items.iter().map(id_of).collect();
        assert_eq!(got, want, "{what}: wrong emails or order");
        for it in items {
            self.check_item(what, it);
        }
    }

    fn check_item(&self, what: &str, it: &Value) {
        let id = id_of(it);
        let e = &self.0[&id];
        let ctx = format!("{what}: email {id}");
        assert_eq!(it["date"], rfc3339(e.date_ms), "{ctx}");
        assert_eq!(it["subject"], e.subject.as_str(), "{ctx}");
        assert_eq!(it["from"]["email"], e.from_email.as_str(), "{ctx}");
        let dir = if e.outbound { "outbound" } else { "inbound" };
        assert_eq!(it["direction"], dir, "{ctx}");
        let investors: BTreeSet<(String, Option<String>, String)> = it["investors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["investor_id"].as_str().unwrap().to_string(),
                    l["contact_id"].as_str().map(String::from),
                    l["strategy"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(investors, e.investors, "{ctx}: investors");
        let accounts: BTreeSet<String> = strings(&it["accounts"]).into_iter().collect();
        assert_eq!(accounts, e.accounts, "{ctx}: accounts");
        assert!(it["to"].is_array() && it["cc"].is_array(), "{ctx}");
        assert!(it["has_attachments"].is_boolean(), "{ctx}");
        assert!(
            it["message_id"].as_str().is_some_and(|m| !m.is_empty()),
            "{ctx}"
        );
    }
}

fn id_of(it: &Value) -> i64 {
    it["email_id"].as_str().unwrap().parse().unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn rfc3339(ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn has_investor(e: &Exp, inv: &str) -> bool {
    e.investors.iter().any(|(i, _, _)| i == inv)
}

/// Case-insensitive for ASCII, as the API promises.
fn subject_has(e: &Exp, q: &str) -> bool {
    e.subject
        .to_ascii_lowercase()
        .contains(&q.to_ascii_lowercase())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_and_threads_equal_the_truths_matched_live_email_under_every_filter() {
    let spec = WorldSpec {
        attachment_cap_bytes: 1 << 20,
        seed: 0x00ac_7171,
        ..WorldSpec::standard(150)
    };
    let mut world = World::generate(&spec);
    let app = spawn_app(AppOptions {
        mailboxes: spec.mailboxes.clone(),
        enabled: true,
        ..AppOptions::default()
    })
    .await;
    world.deliver(&app.fake);
    // One investor in the graveyard: still listed and searchable.
    let mut directory = world.directory();
    let graveyard = directory.investors[0].id.clone();
    directory.investors[0].graveyard = true;
    app.store.replace_directory(&directory).unwrap();
    sync_until_settled(&app).await;
    world.mutate(&app.fake, 120);
    sync_until_settled(&app).await;

    let exp = Expected::build(&world, &app);
    let (api, stop) = serve(&app).await;
    let everything = all_pages(&api, "/api/email/activity", 7).await;
    let want = exp.list(|_| true);
    assert!(want.len() > 100, "world too small: {}", want.len());
    exp.check("unfiltered", &everything, &want);

    for m in &spec.mailboxes {
        let id = app.account_id(m);
        let got = all_pages(&api, &format!("/api/email/activity?account_id={id}"), 9).await;
        exp.check(
            &format!("account {m}"),
            &got,
            &exp.list(|e| e.accounts.contains(m)),
        );
    }
    for (dir, outbound) in [("inbound", false), ("outbound", true)] {
        let got = all_pages(&api, &format!("/api/email/activity?direction={dir}"), 11).await;
        exp.check(dir, &got, &exp.list(|e| e.outbound == outbound));
    }
    let investors: BTreeSet<String> = exp
        .0
        .values()
        .flat_map(|e| e.investors.iter().map(|l| l.0.clone()))
        .collect();
    assert!(
        investors.contains(&graveyard),
        "the graveyard investor has live email"
    );
    for inv in &investors {
        let got = all_pages(&api, &format!("/api/email/activity?investor_id={inv}"), 5).await;
        exp.check(
            &format!("investor {inv}"),
            &got,
            &exp.list(|e| has_investor(e, inv)),
        );
    }
    for q in ["Capital call", "bOARD DECK", "Q3", "w0"] {
        let path = format!("/api/email/activity?q={}", q.replace(' ', "+"));
        let got = all_pages(&api, &path, 13).await;
        let want = exp.list(|e| subject_has(e, q));
        if q != "w0" {
            exp.check(&format!("q={q}"), &got, &want);
        } else {
            // Every subject carries a w0nnnn token: all of it.
            exp.check("q=w0", &got, &exp.list(|_| true));
        }
    }
    let grave_q = format!("/api/email/activity?investor_id={graveyard}&q=w0");
    let got = all_pages(&api, &grave_q, 4).await;
    exp.check(
        "graveyard investor searched",
        &got,
        &exp.list(|e| has_investor(e, &graveyard)),
    );
    let alice = app.account_id("alice@fund.test");
    let inv = investors
        .iter()
        .max_by_key(|i| exp.list(|e| has_investor(e, i)).len())
        .unwrap();
    let path =
        format!("/api/email/activity?investor_id={inv}&account_id={alice}&direction=outbound");
    let got = all_pages(&api, &path, 3).await;
    let want =
        exp.list(|e| has_investor(e, inv) && e.accounts.contains("alice@fund.test") && e.outbound);
    exp.check("investor + account + direction", &got, &want);

    check_threads(&api, &exp, None).await;
    check_threads(&api, &exp, Some(inv)).await;
    stop.cancel();
}

/// Threads: each thread holding listed email once, ordered by its newest
/// such email (of `investor`, if given); its detail lists exactly its
/// listed emails, oldest first.
async fn check_threads(api: &super::support::api::Api, exp: &Expected, investor: Option<&str>) {
    let mut by_thread: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for id in exp.list(|_| true).into_iter().rev() {
        if let Some(t) = exp.0[&id].thread {
            by_thread.entry(t).or_default().push(id);
        }
    }
    let place = |ids: &Vec<i64>| {
        ids.iter()
            .filter(|id| investor.is_none_or(|inv| has_investor(&exp.0[id], inv)))
            .map(|id| (exp.0[id].date_ms, *id))
            .max()
    };
    let mut want: Vec<((i64, i64), i64)> = by_thread
        .iter()
        .filter_map(|(t, ids)| place(ids).map(|p| (p, *t)))
        .collect();
    want.sort_unstable_by(|a, b| b.cmp(a));
    let path = match investor {
        Some(inv) => format!("/api/email/threads?investor_id={inv}"),
        None => "/api/email/threads".to_string(),
    };
    let got = all_pages(api, &path, 3).await;
    let got_ids: Vec<i64> = got
        .iter()
        .map(|t| t["thread_id"].as_str().unwrap().parse().unwrap())
        .collect();
    let want_ids: Vec<i64> = want.iter().map(|w| w.1).collect();
    assert_eq!(got_ids, want_ids, "{path}: wrong threads or order");
    for (t, ((_, top), tid)) in got.iter().zip(&want) {
        let ids = &by_thread[tid];
        assert_eq!(id_of(&t["latest"]), *top, "{path}: thread {tid} latest");
        assert_eq!(t["email_count"], ids.len(), "{path}: thread {tid} count");
        let invs: BTreeSet<String> = ids
            .iter()
            .flat_map(|i| exp.0[i].investors.iter().map(|l| l.0.clone()))
            .collect();
        assert_eq!(
            strings(&t["investors"])
                .into_iter()
                .collect::<BTreeSet<_>>(),
            invs
        );
        exp.check_item(&path, &t["latest"]);
        let (status, detail) = api
            .get(&format!("/api/email/threads/{tid}"), super::ADMIN)
            .await;
        assert_eq!(status, 200, "{detail}");
        let emails = detail["emails"].as_array().unwrap();
        let mut oldest_first = ids.clone();
        oldest_first.sort_by_key(|i| (exp.0[i].date_ms, *i));
        exp.check(&format!("thread {tid}"), emails, &oldest_first);
        assert_eq!(detail["subject"], exp.0[&oldest_first[0]].subject.as_str());
    }
}
