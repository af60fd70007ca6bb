//! The demo's printout: what was captured, matched, proposed, approved,
//! drafted and sent, checked against what fake Google and the SMTP sink
//! really hold, where the data is, and how to call the API. The
//! `demo ready:` line is what scripts (tests/demo.rs, demo_from_clone.sh)
//! wait for; the lines above it are parsed by those tests, so keep their
//! wording in step with them.

use std::path::PathBuf;

use super::plugins::{DigestSent, DraftMade, Reviewed, Step};
use super::seed;
use crate::capture::SyncReport;
use crate::store::Totals;

pub(super) struct Report {
    pub reports: Vec<SyncReport>,
    pub totals: Totals,
    pub proposals: Step<Reviewed>,
    pub draft: Step<DraftMade>,
    pub digest: Step<DigestSent>,
    pub seen: Seen,
    pub data_dir: PathBuf,
    pub temporary: bool,
}

/// What fake Google and the SMTP sink hold after the steps.
pub(super) struct Seen {
    /// Drafts in Alice's fake Gmail mailbox.
    pub alice_drafts: usize,
    /// One of them is in the thread the draft step reported.
    pub draft_in_thread: bool,
    /// Calls fake Google served, by method.
    pub drafts_create: u64,
    pub messages_send: u64,
    /// Messages sent through Gmail carrying the digest's Message-ID.
    pub digest_in_gmail: usize,
    /// Messages the SMTP sink received, and those carrying the digest's.
    pub smtp_messages: usize,
    pub digest_in_sink: usize,
}

fn step<T>(s: &Step<T>, done: impl FnOnce(&T) -> String) -> String {
    match s {
        Step::Done(v) => done(v),
        Step::Failed(e) => format!("FAILED: {e}"),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn print(r: &Report, base: &str, token: &str) {
    let t = &r.totals;
    println!("email-sidecar demo: fake Google, 3 sample mailboxes, an SMTP sink and the real daemon, all in this process");
    println!(
        "  mailboxes   {}: {}",
        seed::MAILBOXES.len(),
        seed::MAILBOXES.join(", ")
    );
    println!(
        "  messages    {} emails captured ({} copies across the mailboxes)",
        t.emails, t.copies
    );
    println!(
        "  matched     {} emails linked to {} investors ({} bodies and {} attachment stored)",
        t.matched, t.investors, t.bodies, t.attachments_stored
    );
    println!(
        "  not logged  {} internal-only, {} bulk (captured, never proposed)",
        t.internal, t.bulk
    );
    print_steps(r);
    for s in &r.reports {
        if let Some(e) = &s.error {
            println!("  sync error  {}: {e}", s.email);
        }
    }
    let kept = if r.temporary {
        "removed at exit"
    } else {
        "kept"
    };
    println!("  data        {} ({kept})", r.data_dir.display());
    println!();
    println!("demo ready: {base}  token: {token}");
    print_tour(base, token);
}

fn print_steps(r: &Report) {
    let s = &r.seen;
    let alice = seed::ALICE;
    println!(
        "  proposals   {}",
        step(&r.proposals, |p| format!(
            "{} proposed: 1 approved by {alice} (id {}, \"{}\"), {} pending review",
            p.total, p.approved_id, p.approved_subject, p.pending
        ))
    );
    println!(
        "  feed        {}",
        step(&r.proposals, |p| format!(
            "{} for the CRM (GET feed as the service); the approval is seq {}",
            plural(p.feed_items, "item", "items"),
            p.feed_seq
        ))
    );
    println!(
        "  draft       {}",
        step(&r.draft, |d| format!(
            "reply to {} \"{}\" in {alice}'s Gmail thread {} (draft id {})",
            d.to, d.subject, d.thread_id, d.gmail_draft_id
        ))
    );
    let thread = if s.draft_in_thread {
        "in the reply's thread"
    } else {
        "NOT in the reply's thread"
    };
    println!(
        "  gmail       {} in {alice}'s mailbox ({thread}); users.drafts.create {}, users.messages.send {} ({} besides the digest: drafts never send)",
        plural(s.alice_drafts, "draft", "drafts"),
        s.drafts_create,
        s.messages_send,
        s.messages_send.saturating_sub(s.digest_in_gmail as u64)
    );
    println!(
        "  digest      {}",
        step(&r.digest, |d| {
            format!(
            "{} delivered via {} to {}: \"{}\" ({} in the last 24 h); copies with its Message-ID: {} in fake Gmail's sent mail, {} in the SMTP sink ({} there)",
            s.digest_in_gmail + s.digest_in_sink,
            d.transport,
            d.recipients.join(", "),
            d.subject,
            plural(d.emails as usize, "matched email", "matched emails"),
            s.digest_in_gmail,
            s.digest_in_sink,
            plural(s.smtp_messages, "message", "messages"),
        )
        })
    );
}

fn print_tour(base: &str, token: &str) {
    let api = format!("{base}/api/email");
    let admin = format!("-H \"X-CRM-User: {}\"", seed::ALICE);
    println!("Try, in another terminal:");
    println!("  TOKEN={token}");
    println!("  curl -s {api}/health");
    println!("  curl -s -H \"Authorization: Bearer $TOKEN\" {api}/status");
    println!("  curl -s -H \"Authorization: Bearer $TOKEN\" {admin} \"{api}/activity?limit=5\"");
    println!(
        "  curl -s -H \"Authorization: Bearer $TOKEN\" {admin} \"{api}/proposals?status=pending\""
    );
    println!("  curl -s -H \"Authorization: Bearer $TOKEN\" \"{api}/feed?after=0\"");
    println!("  curl -s -H \"Authorization: Bearer $TOKEN\" {admin} {api}/digest/preview");
    println!("  curl -s -H \"Authorization: Bearer $TOKEN\" {api}/openapi.json");
    println!("Ctrl-C stops the demo.");
}
