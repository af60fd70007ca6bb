//! The storage half of [`super::Truth::check`]: bodies only for matched
//! email, attachment rows, the content-addressed files under
//! `email_attachments/` (each stored sha256 exactly once, nothing else, no
//! temp files left) and the fetch queue (empty when sync is done).

use std::collections::BTreeSet;

use super::super::snapshot::{SnapAttachment, SnapEmail, Snapshot};
use super::check::Checker;
use super::Expected;

type Row = (String, String, i64, Option<String>, String);

impl Checker<'_> {
    pub(super) fn body(&mut self, e: &SnapEmail, x: &Expected, i: usize, who: &str) {
        if !x.is_matched() {
            if e.has_body || e.body_text.is_some() || e.body_html.is_some() {
                let what = format!(
                    "{who}: has_body={} text={} html={}",
                    e.has_body,
                    e.body_text.is_some(),
                    e.body_html.is_some()
                );
                self.r.add("body on unmatched", what);
            }
            if !e.attachments.is_empty() {
                let what = format!("{who}: {} rows", e.attachments.len());
                self.r.add("attachment rows on unmatched", what);
            }
            return;
        }
        let live = self.live.contains(&i);
        if live && !e.has_body {
            self.r.add("missing body", who.to_string());
        }
        if e.has_body || e.body_text.is_some() {
            let got = e.body_text.as_deref().map(norm);
            if got.as_deref() != Some(norm(&x.text).as_str()) {
                let what = format!("{who}: db {got:?} truth {:?}", norm(&x.text));
                self.r.add("wrong body_text", what);
            }
            let html = match (&x.html_marker, &e.body_html) {
                (Some(m), Some(h)) if !h.contains(m.as_str()) => Some(format!("lacks {m:?}")),
                (Some(_), None) => Some("missing".to_string()),
                (None, Some(_)) => Some("present, none generated".to_string()),
                _ => None,
            };
            if let Some(h) = html {
                self.r.add("wrong body_html", format!("{who}: {h}"));
            }
        }
        if live || !e.attachments.is_empty() {
            self.attachments(e, x, who);
        }
    }

    fn attachments(&mut self, e: &SnapEmail, x: &Expected, who: &str) {
        let mut want: Vec<Row> = x
            .attachments
            .iter()
            .map(|a| {
                let (sha, status) = match a.too_large {
                    true => (None, "too_large"),
                    false => (Some(a.sha256.clone()), "stored"),
                };
                let (name, mime) = (a.filename.clone(), a.mime_type.clone());
                (name, mime, a.size as i64, sha, status.to_string())
            })
            .collect();
        let mut got: Vec<Row> = e.attachments.iter().map(row).collect();
        want.sort();
        got.sort();
        if want != got {
            let missing: Vec<&Row> = want.iter().filter(|w| !got.contains(w)).collect();
            let extra: Vec<&Row> = got.iter().filter(|g| !want.contains(g)).collect();
            let what = format!(
                "{who}: missing {missing:?} extra {extra:?} (rows db {} truth {})",
                got.len(),
                want.len()
            );
            self.r.add("wrong attachments", what);
        }
    }

    pub(super) fn files(&mut self, snap: &Snapshot) {
        let stored: BTreeSet<&str> = snap
            .emails
            .iter()
            .flat_map(|e| &e.attachments)
            .filter(|a| a.status == "stored")
            .filter_map(|a| a.sha256.as_deref())
            .collect();
        let mut on_disk: BTreeSet<&str> = BTreeSet::new();
        for f in &snap.files {
            if !stored.contains(f.name.as_str()) {
                self.r.add("extra file", f.rel.clone());
            }
            if f.name.starts_with(&f.dir) {
                on_disk.insert(&f.name);
            } else {
                self.r.add("misplaced file", f.rel.clone());
            }
            if f.content_sha256 != f.name {
                let what = format!("{} holds content with sha256 {}", f.rel, f.content_sha256);
                self.r.add("corrupt file", what);
            }
        }
        for sha in stored.difference(&on_disk) {
            let dir = sha.get(..2).unwrap_or("??");
            self.r.add("missing file", format!("{dir}/{sha}"));
        }
        for t in &snap.tmp_files {
            self.r.add("tmp file left", t.clone());
        }
        for s in &snap.stray {
            self.r.add("stray file", s.clone());
        }
    }

    pub(super) fn queue(&mut self, snap: &Snapshot) {
        for q in &snap.queue {
            let what = format!(
                "{} {} kind={} attempts={} error={:?}",
                q.mailbox, q.gmail_message_id, q.kind, q.attempts, q.last_error
            );
            self.r.add("queue row left", what);
        }
    }
}

fn row(a: &SnapAttachment) -> Row {
    let (name, mime) = (a.filename.clone(), a.mime_type.clone());
    (name, mime, a.size, a.sha256.clone(), a.status.clone())
}

/// Line ends to `\n`, trailing blanks of lines and of the whole trimmed.
fn norm(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}
