//! Cross-check, not a source of truth: the crate's own parser and matcher,
//! fed each generated message as fake Google serves it (messages.get
//! format=full over HTTP), agree with what the world expects. A
//! disagreement means a generator bug or a product bug; either way it
//! surfaces here before a capture test fails for an obscure reason.

use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use email_sidecar::google::types::Message;
use email_sidecar::matching::{Matcher, Participant, Role as MRole};
use email_sidecar::parse::{classify, parse_message, Direction, Role};

use crate::fake::token;
use crate::support::world::{Expected, World, WorldSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crates_parser_and_matcher_agree_with_the_truth_on_every_message() {
    let spec = WorldSpec::standard(300);
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    for m in &spec.mailboxes {
        fake.add_user(m);
    }
    let mut w = World::generate(&spec);
    w.deliver(&fake);
    let matcher = Matcher::new(&w.directory(), std::slice::from_ref(&spec.our_domain));
    let http = reqwest::Client::new();
    let mut problems = Vec::new();
    let mut compared = 0;
    for mailbox in &spec.mailboxes {
        let tok = token(&fake, mailbox).await;
        for m in &w.msgs {
            for d in m.deliveries.iter().filter(|d| &d.mailbox == mailbox) {
                let id = d.gmail_id.as_deref().unwrap();
                let url = format!("{}/gmail/v1/users/{mailbox}/messages/{id}", fake.api_base());
                let resp = http.get(url).bearer_auth(&tok).query(&[("format", "full")]);
                let msg: Message = resp.send().await.unwrap().json().await.unwrap();
                let got = judge(&msg, &matcher, &spec);
                let want = expected(&m.expect, d.sender_copy || m.bcc.is_empty());
                if got != want {
                    problems.push(format!(
                        "#{} {:?} in {mailbox}:\n  crate {got:?}\n  world {want:?}",
                        m.expect.idx, m.expect.kind
                    ));
                }
                compared += 1;
            }
        }
    }
    assert!(compared > 1000, "{compared}");
    let shown: Vec<&String> = problems.iter().take(15).collect();
    assert!(
        problems.is_empty(),
        "{} of {compared} copies disagree:\n{}",
        problems.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// What both sides are compared on.
type View = (
    Option<String>,
    String,
    String,
    i64,
    bool,
    [bool; 3],
    Vec<(String, Option<String>, &'static str)>,
    Option<String>,
    bool,
    Vec<(String, String, u64)>,
);

fn judge(msg: &Message, matcher: &Matcher, spec: &WorldSpec) -> View {
    let p = parse_message(msg).unwrap();
    let c = classify(&p, &spec.mailboxes, std::slice::from_ref(&spec.our_domain));
    let parts: Vec<Participant> = c
        .participants
        .iter()
        .map(|(r, a)| {
            let role = match r {
                Role::From => MRole::From,
                Role::To => MRole::To,
                Role::Cc => MRole::Cc,
                Role::Bcc => MRole::Bcc,
            };
            Participant::new(role, a.email.clone())
        })
        .collect();
    let outcome = matcher.match_participants(&parts);
    let links = if c.internal_only {
        Vec::new()
    } else {
        outcome
            .links
            .iter()
            .map(|l| {
                (
                    l.investor_id.clone(),
                    l.contact_id.clone(),
                    l.strategy.as_str(),
                )
            })
            .collect()
    };
    let mut atts: Vec<(String, String, u64)> = p
        .attachments
        .iter()
        .map(|a| (a.filename.clone(), a.mime_type.clone(), a.size))
        .collect();
    atts.sort();
    (
        (!p.message_id_synthesized).then(|| p.message_id.clone()),
        p.subject.clone(),
        p.from.as_ref().map(|f| f.email.clone()).unwrap_or_default(),
        p.date.map(|d| d.timestamp_millis()).unwrap_or_default(),
        c.direction == Direction::Outbound,
        [c.internal_only, p.bulk, outcome.excluded],
        links,
        p.text.as_deref().map(norm),
        p.html.is_some(),
        atts,
    )
}

/// The truth's view; `full` = this copy shows every participant (the
/// teammate's copy of a Bcc'd email lacks the Bcc, so only the sender's
/// copy can yield the email's links).
fn expected(e: &Expected, full: bool) -> View {
    let links = e
        .links
        .iter()
        .map(|(inv, l)| (inv.clone(), l.contact_id.clone(), l.strategy.as_str()))
        .collect();
    let mut atts: Vec<(String, String, u64)> = e
        .attachments
        .iter()
        .map(|a| (a.filename.clone(), a.mime_type.clone(), a.size))
        .collect();
    atts.sort();
    let mut v: View = (
        e.message_id.clone(),
        e.subject.clone(),
        e.from_email.clone(),
        e.date_ms,
        e.outbound,
        [e.internal, e.bulk, e.excluded],
        links,
        Some(norm(&e.text)),
        e.html_marker.is_some(),
        atts,
    );
    if !full {
        v.5[0] = true;
        v.6.clear();
    }
    v
}

fn norm(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}
