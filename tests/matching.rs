//! Matching (SPEC §6–§7): participants × directory → links, proposal policy,
//! and the Gmail search queries built from the directory (issue 7).

use std::collections::HashMap;

use email_sidecar::matching::{
    search_terms, should_propose, Link, MatchOutcome, Matcher, Participant, Role, Strategy,
    DEFAULT_QUERY_MAX,
};
use email_sidecar::store::{Directory, DirectoryContact, DirectoryInvestor};

fn investor(id: &str, domains: &[&str], graveyard: bool) -> DirectoryInvestor {
    DirectoryInvestor {
        id: id.into(),
        name: format!("Investor {id}"),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        graveyard,
    }
}

fn contact(id: &str, investor_id: &str, email: &str) -> DirectoryContact {
    DirectoryContact {
        id: id.into(),
        investor_id: investor_id.into(),
        email: email.into(),
        name: String::new(),
    }
}

/// The directory most tests share.
fn directory() -> Directory {
    Directory {
        users: vec![],
        investors: vec![
            investor("inv-acme", &["acme.com"], false),
            investor("inv-beta", &["beta.vc", "gmail.com"], false),
            investor("inv-buch", &["bücher.de"], false),
            investor("inv-eu", &["eu.acme.com"], false),
            investor("inv-old", &["oldfund.com"], true),
            investor("inv-angel", &[], false),
            investor("inv-ours", &["fund.test"], false),
        ],
        contacts: vec![
            contact("c-alice", "inv-acme", "Alice@Acme.com"),
            contact("c-alice-deals", "inv-acme", "alice+deals@acme.com"),
            contact("c-jdoe", "inv-angel", "j.doe@gmail.com"),
            contact("c-bob", "inv-beta", "bob@beta.vc"),
            contact("c-anna", "inv-buch", "anna@BÜCHER.de"),
            contact("c-otto", "inv-old", "otto@oldfund.com"),
            contact("c-gmail-domain", "inv-beta", "partner@googlemail.com"),
        ],
        exclusions: vec![
            "secret@acme.com".into(),
            "Bank.Example".into(),
            "lawyers.de".into(),
        ],
    }
}

fn ours() -> Vec<String> {
    vec!["fund.test".into()]
}

fn from(email: &str) -> Participant {
    Participant::new(Role::From, email)
}

fn to(email: &str) -> Participant {
    Participant::new(Role::To, email)
}

fn exact(investor: &str, contact: &str, address: &str) -> Link {
    Link {
        investor_id: investor.into(),
        contact_id: Some(contact.into()),
        strategy: Strategy::Exact,
        address: address.into(),
        graveyard: false,
    }
}

fn domain(investor: &str, address: &str) -> Link {
    Link {
        investor_id: investor.into(),
        contact_id: None,
        strategy: Strategy::Domain,
        address: address.into(),
        graveyard: false,
    }
}

fn linked(links: Vec<Link>) -> MatchOutcome {
    MatchOutcome {
        links,
        excluded: false,
    }
}

fn excluded() -> MatchOutcome {
    MatchOutcome {
        links: vec![],
        excluded: true,
    }
}

/// (case, participants, expected outcome) against [`directory`].
fn cases() -> Vec<(&'static str, Vec<Participant>, MatchOutcome)> {
    let me = || from("partner@fund.test");
    vec![
        (
            "a contact's address links exactly",
            vec![me(), to("bob@beta.vc")],
            linked(vec![exact("inv-beta", "c-bob", "bob@beta.vc")]),
        ),
        (
            "an unknown address at an investor domain links by domain",
            vec![from("carol@acme.com"), to("partner@fund.test")],
            linked(vec![domain("inv-acme", "carol@acme.com")]),
        ),
        (
            "exact wins over domain for the same investor whatever the order",
            vec![from("carol@acme.com"), to("alice@acme.com")],
            linked(vec![exact("inv-acme", "c-alice", "alice@acme.com")]),
        ),
        (
            "two investors on one email give two links ordered by investor id",
            vec![
                from("otto@oldfund.com"),
                to("bob@beta.vc"),
                to("x@acme.com"),
            ],
            linked(vec![
                domain("inv-acme", "x@acme.com"),
                exact("inv-beta", "c-bob", "bob@beta.vc"),
                Link {
                    graveyard: true,
                    ..exact("inv-old", "c-otto", "otto@oldfund.com")
                },
            ]),
        ),
        (
            "a plus-tag is kept so it matches its own contact, not the untagged one",
            vec![from("alice+deals@acme.com")],
            linked(vec![exact(
                "inv-acme",
                "c-alice-deals",
                "alice+deals@acme.com",
            )]),
        ),
        (
            "an unlisted plus-tag still links by domain",
            vec![from("alice+news@acme.com")],
            linked(vec![domain("inv-acme", "alice+news@acme.com")]),
        ),
        (
            "dots are kept as written so jdoe at gmail is not j.doe",
            vec![from("jdoe@gmail.com")],
            linked(vec![]),
        ),
        (
            "dots as written match exactly",
            vec![from("j.doe@gmail.com")],
            linked(vec![exact("inv-angel", "c-jdoe", "j.doe@gmail.com")]),
        ),
        (
            "case does not matter on either side",
            vec![from("ALICE@ACME.COM")],
            linked(vec![exact("inv-acme", "c-alice", "alice@acme.com")]),
        ),
        (
            "a unicode participant matches a unicode contact",
            vec![from("anna@bücher.de")],
            linked(vec![exact("inv-buch", "c-anna", "anna@xn--bcher-kva.de")]),
        ),
        (
            "a punycode participant matches a unicode contact",
            vec![from("anna@xn--bcher-kva.de")],
            linked(vec![exact("inv-buch", "c-anna", "anna@xn--bcher-kva.de")]),
        ),
        (
            "a punycode participant matches a unicode investor domain",
            vec![from("max@xn--bcher-kva.de")],
            linked(vec![domain("inv-buch", "max@xn--bcher-kva.de")]),
        ),
        (
            "a subdomain matches its parent investor domain",
            vec![from("dan@uk.acme.com")],
            linked(vec![domain("inv-acme", "dan@uk.acme.com")]),
        ),
        (
            "the most specific listed domain wins",
            vec![from("eve@eu.acme.com"), to("zed@de.eu.acme.com")],
            linked(vec![domain("inv-eu", "eve@eu.acme.com")]),
        ),
        (
            "a lookalike domain is not a subdomain",
            vec![from("mallory@notacme.com"), to("m@acme.com.evil.io")],
            linked(vec![]),
        ),
        (
            "a public domain never matches by domain even when an investor lists it",
            vec![from("stranger@gmail.com")],
            linked(vec![]),
        ),
        (
            "an exact contact at a public domain still matches",
            vec![from("partner@googlemail.com")],
            linked(vec![exact(
                "inv-beta",
                "c-gmail-domain",
                "partner@googlemail.com",
            )]),
        ),
        (
            "our own domain never matches even when an investor lists it",
            vec![from("partner@fund.test"), to("ceo@fund.test")],
            linked(vec![]),
        ),
        (
            "a graveyard investor still matches",
            vec![to("otto@oldfund.com"), me()],
            linked(vec![Link {
                graveyard: true,
                ..exact("inv-old", "c-otto", "otto@oldfund.com")
            }]),
        ),
        (
            "an excluded address excludes the whole email",
            vec![from("secret@acme.com"), to("bob@beta.vc")],
            excluded(),
        ),
        (
            "an excluded domain written in capitals excludes the whole email",
            vec![
                from("bob@beta.vc"),
                Participant::new(Role::Cc, "teller@bank.example"),
            ],
            excluded(),
        ),
        (
            "a subdomain of an excluded domain is excluded",
            vec![me(), Participant::new(Role::Bcc, "x@mail.lawyers.de")],
            excluded(),
        ),
        (
            "an unparseable participant is ignored",
            vec![from("not an address"), to("bob@beta.vc")],
            linked(vec![exact("inv-beta", "c-bob", "bob@beta.vc")]),
        ),
    ]
}

#[test]
fn every_matching_rule_gives_the_expected_links() {
    let m = Matcher::new(&directory(), &ours());
    for (case, participants, want) in cases() {
        assert_eq!(m.match_participants(&participants), want, "{case}");
    }
}

#[test]
fn a_link_carries_the_best_participant_by_role_not_header_order() {
    let m = Matcher::new(&directory(), &ours());
    let got = m.match_participants(&[to("zz@acme.com"), from("aa@uk.acme.com")]);
    assert_eq!(got, linked(vec![domain("inv-acme", "aa@uk.acme.com")]));
    let got = m.match_participants(&[to("zz@acme.com"), to("aa@acme.com")]);
    assert_eq!(got, linked(vec![domain("inv-acme", "aa@acme.com")]));
}

#[test]
fn an_empty_directory_matches_nothing_and_excludes_nothing() {
    let m = Matcher::new(&Directory::default(), &[]);
    let got = m.match_participants(&[from("alice@acme.com"), to("bob@gmail.com")]);
    assert_eq!(got, linked(vec![]));
    assert!(!got.is_matched());
}

#[test]
fn internal_only_is_every_participant_ours() {
    let m = Matcher::new(&directory(), &ours());
    assert!(m.internal_only(&[from("a@fund.test"), to("b@FUND.test")]));
    assert!(m.internal_only(&[from("a@fund.test"), to("b@eu.fund.test")]));
    assert!(!m.internal_only(&[from("a@fund.test"), to("bob@beta.vc")]));
    assert!(!m.internal_only(&[]));
}

#[test]
fn only_matched_external_non_bulk_mail_is_proposed() {
    let matched = linked(vec![exact("inv-beta", "c-bob", "bob@beta.vc")]);
    // (case, outcome, internal_only, bulk, proposed)
    let table = [
        ("matched external mail", matched.clone(), false, false, true),
        ("internal-only mail", matched.clone(), true, false, false),
        ("bulk mail", matched.clone(), false, true, false),
        ("unmatched mail", linked(vec![]), false, false, false),
        ("excluded mail", excluded(), false, false, false),
        (
            "an outcome marked excluded even with links",
            MatchOutcome {
                excluded: true,
                ..matched
            },
            false,
            false,
            false,
        ),
    ];
    for (case, outcome, internal, bulk, want) in table {
        assert_eq!(should_propose(&outcome, internal, bulk), want, "{case}");
    }
}

/// 2,000 investors with one domain each and 5,000 contacts, addresses chosen
/// so that exact and domain hits, misses and near-misses are all present.
fn big_directory() -> Directory {
    let investors = (0..2000)
        .map(|i| {
            investor(
                &format!("inv-{i:04}"),
                &[&format!("fund{i}.com")],
                i % 7 == 0,
            )
        })
        .collect();
    let contacts = (0..5000)
        .map(|c| {
            let inv = c % 2000;
            contact(
                &format!("c-{c:04}"),
                &format!("inv-{inv:04}"),
                &format!("person{c}@fund{inv}.com"),
            )
        })
        .collect();
    Directory {
        investors,
        contacts,
        ..Directory::default()
    }
}

#[test]
fn a_five_thousand_contact_directory_matches_a_ten_participant_email() {
    let m = Matcher::new(&big_directory(), &ours());
    let participants = vec![
        from("person4321@fund321.com"),                  // exact, inv-0321
        to("somebody@fund321.com"),                      // same investor: exact wins
        to("person1999@fund1999.com"),                   // exact, inv-1999
        to("nobody@fund1500.com"),                       // domain, inv-1500
        Participant::new(Role::Cc, "person7@fund8.com"), // not a contact: domain, inv-0008
        Participant::new(Role::Cc, "x@fund2000.com"),    // no such investor
        Participant::new(Role::Cc, "x@fund15.com.au"),   // lookalike
        Participant::new(Role::Bcc, "person0@gmail.com"),
        Participant::new(Role::Bcc, "partner@fund.test"),
        to("PERSON14@FUND14.COM"), // exact, inv-0014, graveyard
    ];
    let got = m.match_participants(&participants);
    let want = linked(vec![
        domain("inv-0008", "person7@fund8.com"),
        Link {
            graveyard: true,
            ..exact("inv-0014", "c-0014", "person14@fund14.com")
        },
        exact("inv-0321", "c-4321", "person4321@fund321.com"),
        domain("inv-1500", "nobody@fund1500.com"),
        exact("inv-1999", "c-1999", "person1999@fund1999.com"),
    ]);
    assert_eq!(got, want);
}

/// The item a query term names: `from:x` → `x`, quotes dropped.
fn term_values(query: &str) -> Vec<(String, String)> {
    let inner = query
        .strip_prefix('{')
        .and_then(|q| q.strip_suffix('}'))
        .expect("a query is one { } group");
    inner
        .split(' ')
        .map(|t| {
            let (op, v) = t.split_once(':').expect("op:value");
            (op.to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}

#[test]
fn search_queries_stay_under_the_limit_and_name_every_term_once() {
    let mut dir = big_directory();
    dir.investors.push(investor(
        "inv-pub",
        &["gmail.com", "hotmail.co.uk", "Bücher.de"],
        false,
    ));
    dir.contacts
        .push(contact("c-pub", "inv-pub", "j.doe+vc@gmail.com"));
    for max in [DEFAULT_QUERY_MAX, 300] {
        let queries = search_terms(&dir, &ours(), max);
        assert!(queries.len() > 1, "split into several queries at {max}");
        let mut seen: HashMap<String, usize> = HashMap::new();
        for q in &queries {
            assert!(q.len() <= max, "{} > {max}", q.len());
            let terms = term_values(q);
            for group in terms.chunks(4) {
                let ops: Vec<&str> = group.iter().map(|(op, _)| op.as_str()).collect();
                assert_eq!(ops, ["from", "to", "cc", "bcc"]);
                assert!(group.iter().all(|(_, v)| *v == group[0].1));
                *seen.entry(group[0].1.clone()).or_default() += 1;
            }
        }
        let mut want: Vec<String> = dir
            .contacts
            .iter()
            .map(|c| c.email.to_lowercase())
            .chain((0..2000).map(|i| format!("fund{i}.com")))
            .chain(["xn--bcher-kva.de".to_string()])
            .collect();
        want.sort();
        let mut got: Vec<String> = seen.keys().cloned().collect();
        got.sort();
        assert_eq!(got, want, "at {max}");
        assert!(seen.values().all(|&n| n == 1), "each item once at {max}");
        assert!(!seen.contains_key("gmail.com") && !seen.contains_key("hotmail.co.uk"));
    }
}

#[test]
fn search_leaves_out_our_domain_and_exclusions() {
    let queries = search_terms(&directory(), &ours(), DEFAULT_QUERY_MAX);
    assert_eq!(queries.len(), 1);
    let items: Vec<String> = term_values(&queries[0])
        .into_iter()
        .map(|(_, v)| v)
        .step_by(4)
        .collect();
    assert_eq!(
        items,
        [
            "acme.com",
            "alice+deals@acme.com",
            "alice@acme.com",
            "anna@xn--bcher-kva.de",
            "beta.vc",
            "bob@beta.vc",
            "eu.acme.com",
            "j.doe@gmail.com",
            "oldfund.com",
            "otto@oldfund.com",
            "partner@googlemail.com",
            "xn--bcher-kva.de",
        ]
    );
}

#[test]
fn an_empty_directory_gives_no_search_queries() {
    assert!(search_terms(&Directory::default(), &ours(), DEFAULT_QUERY_MAX).is_empty());
}
