//! The demo's printout: what was captured, matched, proposed, drafted and
//! sent, where the data is, and how to call the API. The `demo ready:`
//! line is what scripts (and tests/demo.sh) wait for.

use std::path::PathBuf;

use super::plugins::{DraftMade, Step};
use super::seed;
use crate::capture::SyncReport;
use crate::store::Totals;

pub(super) struct Report {
    pub reports: Vec<SyncReport>,
    pub totals: Totals,
    pub proposals: Step<u64>,
    pub draft: Step<DraftMade>,
    pub digest: Step<usize>,
    pub drafts_in_gmail: usize,
    pub sent_by_gmail: usize,
    pub smtp_messages: usize,
    pub data_dir: PathBuf,
    pub temporary: bool,
}

fn step<T>(s: &Step<T>, done: impl FnOnce(&T) -> String) -> String {
    match s {
        Step::Done(v) => done(v),
        Step::NotInBuild(route) => format!("not in this build yet ({route})"),
        Step::Failed(e) => format!("FAILED: {e}"),
    }
}

pub(super) fn print(r: &Report, base: &str, token: &str) {
    let t = &r.totals;
    let failed: Vec<String> = r
        .reports
        .iter()
        .filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.email)))
        .collect();
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
    println!(
        "  proposals   {}",
        step(&r.proposals, |n| format!("{n} pending review"))
    );
    println!(
        "  draft       {}",
        step(&r.draft, |d| format!(
            "reply to {} \"{}\" in {}'s Gmail drafts (id {}; {} draft(s) there)",
            d.to,
            d.subject,
            seed::ALICE,
            d.gmail_draft_id,
            r.drafts_in_gmail
        ))
    );
    println!(
        "  digest      {}",
        step(&r.digest, |_| format!(
            "sent now: {} via Gmail messages.send, {} via the SMTP sink",
            r.sent_by_gmail, r.smtp_messages
        ))
    );
    for f in &failed {
        println!("  sync error  {f}");
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
    println!("  curl -s {api}/openapi.json");
    println!("Ctrl-C stops the demo.");
}
