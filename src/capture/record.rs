//! A parsed Gmail message → the store's records, and the linker the store
//! calls with an email's participants (all copies merged): the directory's
//! [`Matcher`] plus which addresses are our enrolled mailboxes (direction).

use std::collections::HashSet;

use crate::matching::{Matcher, Participant, Role};
use crate::parse::{self, ParsedEmail};
use crate::store::{
    EmailRecord, LinkDecision, LinkRow, ParticipantRow, SightingRecord, Store, StoreError,
};

/// The directory and mailboxes as of one sync.
pub(crate) struct LinkContext {
    matcher: Matcher,
    enrolled: HashSet<String>,
    our_domains: Vec<String>,
}

impl LinkContext {
    pub(crate) fn load(store: &Store, our_domains: &[String]) -> Result<LinkContext, StoreError> {
        let dir = store.directory()?;
        let enrolled = store
            .list_accounts()?
            .into_iter()
            .map(|a| a.email)
            .collect();
        Ok(LinkContext {
            matcher: Matcher::new(&dir, our_domains),
            enrolled,
            our_domains: our_domains.to_vec(),
        })
    }

    /// SPEC §6–§7 over `(role, address)` of every copy of one email.
    pub(crate) fn decide(&self, participants: &[(String, String)]) -> LinkDecision {
        let ps: Vec<Participant> = participants
            .iter()
            .filter_map(|(role, addr)| {
                let role = match role.as_str() {
                    "from" => Role::From,
                    "to" => Role::To,
                    "cc" => Role::Cc,
                    "bcc" => Role::Bcc,
                    _ => return None,
                };
                Some(Participant::new(role, addr.clone()))
            })
            .collect();
        let outcome = self.matcher.match_participants(&ps);
        let links = outcome
            .links
            .iter()
            .map(|l| LinkRow {
                investor_id: l.investor_id.clone(),
                contact_id: l.contact_id.clone(),
                strategy: l.strategy.as_str(),
                matched_address: l.address.clone(),
            })
            .collect();
        LinkDecision {
            links,
            excluded: outcome.excluded,
            internal_only: self.matcher.internal_only(&ps),
            outbound: ps
                .iter()
                .any(|p| p.role == Role::From && self.enrolled.contains(&p.email)),
        }
    }

    /// The store records of one fetched message.
    pub(crate) fn records(&self, p: &ParsedEmail) -> (EmailRecord, SightingRecord) {
        let enrolled: Vec<String> = self.enrolled.iter().cloned().collect();
        let class = parse::classify(p, &enrolled, &self.our_domains);
        let mut participants: Vec<ParticipantRow> = class
            .participants
            .iter()
            .map(|(role, a)| ParticipantRow {
                role: match role {
                    parse::Role::From => "from",
                    parse::Role::To => "to",
                    parse::Role::Cc => "cc",
                    parse::Role::Bcc => "bcc",
                },
                address: a.email.clone(),
                name: a.name.clone().unwrap_or_default(),
            })
            .collect();
        participants.extend(p.reply_to.iter().map(|a| ParticipantRow {
            role: "reply_to",
            address: a.email.clone(),
            name: a.name.clone().unwrap_or_default(),
        }));
        let mut ancestors: Vec<String> = p.references.clone();
        ancestors.extend(p.in_reply_to.iter().cloned());
        ancestors.sort();
        ancestors.dedup();
        let headers: Vec<serde_json::Value> = p
            .headers
            .iter()
            .map(|(n, v)| serde_json::json!({"name": n, "value": v}))
            .collect();
        let date = p.date.or(p.internal_date);
        let email = EmailRecord {
            message_id: p.message_id.clone(),
            synthesized: p.message_id_synthesized,
            in_reply_to: p.in_reply_to.first().cloned(),
            ancestors,
            subject: p.subject.clone(),
            from_email: p.from.as_ref().map(|a| a.email.clone()).unwrap_or_default(),
            from_name: p
                .from
                .as_ref()
                .and_then(|a| a.name.clone())
                .unwrap_or_default(),
            date_ms: date.map_or(0, |d| d.timestamp_millis()),
            snippet: p.snippet.clone(),
            size_bytes: p.size_estimate.unwrap_or(0).min(i64::MAX as u64) as i64,
            is_bulk: p.bulk,
            headers_json: serde_json::Value::Array(headers).to_string(),
            participants,
        };
        let sighting = SightingRecord {
            gmail_message_id: p.gmail_id.clone(),
            gmail_thread_id: p.gmail_thread_id.clone(),
            labels: p.label_ids.clone(),
            internal_date_ms: p.internal_date.map(|d| d.timestamp_millis()),
        };
        (email, sighting)
    }
}
