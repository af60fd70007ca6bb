//! Self-test of the ground-truth world (tests/support/world.rs) and of the
//! snapshot/check pair (tests/support/snapshot.rs), without the capture
//! engine: the generator is deterministic and covers every kind, its raw
//! mail says what the truth says (read back with mail-parser), the fake
//! lists exactly the truth's live copies before and after mutations, and a
//! hand-built database that is right passes while each way of being wrong
//! is named.

mod support;

use std::collections::BTreeSet;

use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};
use support::world::{canonical, Kind, World, WorldSpec};

#[path = "world_selftest/corrupt.rs"]
mod corrupt;
#[path = "world_selftest/db.rs"]
mod db;
#[path = "world_selftest/fake.rs"]
mod fake;
#[path = "world_selftest/product.rs"]
mod product;

#[test]
fn the_same_seed_generates_byte_identical_worlds_and_another_seed_does_not() {
    let spec = WorldSpec::standard(150);
    let digest = |w: &World| {
        let mut h = Sha256::new();
        for m in &w.msgs {
            for d in &m.deliveries {
                h.update(d.mailbox.as_bytes());
                h.update(format!("{:?}", d.labels).as_bytes());
                h.update(m.raw(d.sender_copy));
            }
        }
        hex::encode(h.finalize())
    };
    let (a, b) = (World::generate(&spec), World::generate(&spec));
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(a.stats(), b.stats());
    let other = World::generate(&WorldSpec { seed: 7, ..spec });
    assert_ne!(digest(&a), digest(&other));
}

#[test]
fn a_standard_world_has_every_kind_and_feature_in_real_numbers() {
    let w = World::generate(&WorldSpec::standard(1000));
    let s = w.stats();
    println!("{s:#?}");
    assert!(w.message_count() >= 3000, "{}", w.message_count());
    for k in Kind::ALL {
        let floor = if matches!(k, Kind::NoIdShared | Kind::OutboundBccTeammate) {
            5
        } else {
            20
        };
        assert!(s.kind(*k) >= floor, "{k:?}: {}", s.kind(*k));
    }
    for (f, floor) in [
        ("exact link", 800),
        ("domain link", 400),
        ("two or more links", 150),
        ("outbound", 300),
        ("internal", 100),
        ("bulk", 80),
        ("excluded", 60),
        ("no message-id", 40),
        ("no message-id, 2+ mailboxes", 5),
        ("2+ mailboxes", 200),
        ("3 mailboxes", 20),
        ("never visible", 60),
        ("a copy in spam beside a visible copy", 10),
        ("archived copy (no INBOX, not SENT)", 50),
        ("bcc", 40),
        ("rfc2047 subject", 200),
        ("html", 600),
        ("attachments on matched", 100),
        ("attachments on unmatched", 20),
        ("reused attachment", 40),
        ("attachment contents used 2+ times", 8),
        ("too large attachment", 1),
        ("conversations", 20),
        ("conversations spanning 2+ mailboxes", 10),
        ("reply (in conversation, not first)", 40),
        ("idn written in unicode", 10),
        ("idn written in punycode", 10),
        ("address written with capitals", 100),
    ] {
        assert!(s.feature(f) >= floor, "{f}: {} < {floor}", s.feature(f));
    }
    assert_eq!(s.feature("too large attachment"), 1);
}

#[test]
fn every_kind_gets_the_links_and_flags_it_was_built_for() {
    let w = World::generate(&WorldSpec::standard(1000));
    for m in &w.msgs {
        let e = &m.expect;
        let strategies: Vec<&str> = e.links.values().map(|l| l.strategy.as_str()).collect();
        let exact = strategies.iter().filter(|s| **s == "exact").count();
        let domain = strategies.len() - exact;
        let ok = match e.kind {
            Kind::InboundContact => exact == 1 && domain == 0 && !e.outbound,
            Kind::PublicContact | Kind::PlusTagExact | Kind::IdnContact => {
                exact == 1 && domain == 0
            }
            Kind::InboundDomain | Kind::PlusTagStripped | Kind::IdnDomain | Kind::SecondDomain => {
                domain == 1 && exact == 0
            }
            Kind::OutboundContactCcDomain => exact == 1 && domain == 1 && e.outbound,
            Kind::OutboundBcc | Kind::OutboundBccTeammate => {
                exact == 1 && domain == 0 && e.outbound && !e.internal
            }
            Kind::PublicNonContact => e.links.is_empty() && !e.excluded,
            Kind::InternalOnly => e.links.is_empty() && e.internal,
            Kind::FromDave => exact == 1 && !e.outbound && e.from_email.starts_with("dave@"),
            Kind::Bulk => e.bulk && e.is_matched(),
            Kind::Excluded => e.excluded && e.links.is_empty() && !e.is_matched(),
            Kind::SpamOnly | Kind::TrashOnly => m.deliveries.iter().all(|d| !d.visible()),
            Kind::NoIdShared => e.message_id.is_none() && m.deliveries.len() == 2,
            Kind::Conversation => e.conversation.is_some() && exact == 1,
        };
        assert!(
            ok,
            "{:?} #{}: links {:?} outbound {} internal {}",
            e.kind, e.idx, e.links, e.outbound, e.internal
        );
        assert_eq!(
            e.internal,
            m.participants()
                .all(|a| a.canonical.ends_with("@fund.test"))
        );
        assert!(
            e.links.keys().all(|inv| inv != "inv-05"),
            "Umbrella's mail is excluded: {:?}",
            e.idx
        );
        assert!(!(e.is_matched() && e.internal));
        if e.kind == Kind::PublicNonContact {
            assert!(
                e.links.is_empty(),
                "gmail.com is listed by inv-03 but never matches by domain"
            );
        }
    }
}

/// The raw bytes say what the truth says, read with an independent parser.
#[test]
fn raw_mail_decodes_to_the_expected_subject_body_ids_and_attachments() {
    let w = World::generate(&WorldSpec::standard(150));
    for m in &w.msgs {
        let e = &m.expect;
        for d in &m.deliveries {
            let raw = m.raw(d.sender_copy);
            assert!(
                !raw.windows(2).any(|p| p[1] == b'\n' && p[0] != b'\r'),
                "bare LF in #{}",
                e.idx
            );
            let p = MessageParser::default().parse(&raw).unwrap();
            assert_eq!(p.subject().unwrap_or_default(), e.subject, "#{}", e.idx);
            assert_eq!(
                p.message_id().map(str::to_string),
                e.message_id,
                "#{}",
                e.idx
            );
            let from = p
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap();
            assert_eq!(canonical(from), e.from_email);
            let text = p.body_text(0).unwrap().replace("\r\n", "\n");
            assert_eq!(text.trim(), e.text.trim(), "#{}", e.idx);
            let html_parts = p.parts.iter().filter(|x| x.is_content_type("text", "html"));
            assert_eq!(
                html_parts.count(),
                usize::from(e.html_marker.is_some()),
                "#{}",
                e.idx
            );
            if let Some(mk) = &e.html_marker {
                assert!(p.body_html(0).unwrap().contains(mk.as_str()));
            }
            let shas: BTreeSet<String> = p
                .attachments()
                .map(|a| hex::encode(Sha256::digest(a.contents())))
                .collect();
            let want: BTreeSet<String> = e.attachments.iter().map(|a| a.sha256.clone()).collect();
            assert_eq!(shas, want, "#{}", e.idx);
            assert_eq!(
                p.header("Bcc").is_some(),
                d.sender_copy && !m.bcc.is_empty()
            );
        }
    }
}
