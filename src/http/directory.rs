//! PUT /api/email/directory (service): atomic replace of the CRM directory,
//! relink of past email, proposals for newly linked email (SPEC §7, §11).
//! Validates the whole push first (422 naming the bad entry, nothing
//! stored), replaces it in one transaction, then relinks every email
//! through the capture engine (which also queues body fetches of newly
//! matched email; the capture worker is then asked to fetch them).

use std::collections::HashSet;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode};
use axum::routing::put;
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::extract::ApiJson;
use super::routes::{Access, RouteDef};
use super::{ApiError, AppState};
use crate::capture::worker::Command;
use crate::capture::{Capture, SyncMode};
use crate::config::{is_valid_domain, normalize_mailbox};
use crate::store::{Directory, RelinkReport};

/// A whole directory can be large (thousands of contacts).
const BODY_LIMIT: usize = 8 * 1024 * 1024;
const MAX_ID_CHARS: usize = 200;

pub(super) fn routes() -> Vec<RouteDef> {
    vec![RouteDef::new(
        Method::PUT,
        "/api/email/directory",
        Access::SERVICE,
        put(replace).layer(DefaultBodyLimit::max(BODY_LIMIT)),
    )
    .summary("Replace the CRM directory (atomic) and relink past email")
    .doc(doc())]
}

fn invalid(msg: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_directory", msg)
}

async fn replace(
    State(state): State<AppState>,
    ApiJson(raw): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let dir = parse(raw)?;
    validate(&dir).map_err(invalid)?;
    let counts = state
        .store
        .run(move |s| s.replace_directory(&dir))
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Invalid { .. } => invalid(e.to_string()),
            e => ApiError::from(e),
        })?;
    let report = relink(&state).await?;
    let body = json!({
        "users": counts.users,
        "investors": counts.investors,
        "contacts": counts.contacts,
        "domains": counts.domains,
        "exclusions": counts.exclusions,
        "relinked": report.changed,
        "proposals": report.proposals,
    });
    let details = body.clone();
    state
        .store
        .run(move |s| s.append_audit("service", "directory.replace", None, &details))
        .await?;
    Ok(Json(body))
}

/// The SPEC §11 shape, list by list so an error names its list. A push
/// missing a whole list is refused rather than read as "delete them all"
/// (an empty list is fine); `exclusions` may be left out.
fn parse(raw: Value) -> Result<Directory, ApiError> {
    let Value::Object(mut m) = raw else {
        return Err(invalid("the directory must be a JSON object".into()));
    };
    fn list<T: DeserializeOwned>(
        m: &mut Map<String, Value>,
        key: &str,
    ) -> Result<Vec<T>, ApiError> {
        match m.remove(key) {
            None if key == "exclusions" => Ok(Vec::new()),
            None => Err(invalid(format!("the directory has no {key:?} list"))),
            Some(v) => serde_json::from_value(v).map_err(|e| invalid(format!("{key}: {e}"))),
        }
    }
    Ok(Directory {
        users: list(&mut m, "users")?,
        investors: list(&mut m, "investors")?,
        contacts: list(&mut m, "contacts")?,
        exclusions: list(&mut m, "exclusions")?,
    })
}

/// Relinks every email against the new directory: through the running
/// capture engine when there is one, else one built from the config (as
/// `sync --load-directory` does).
async fn relink(state: &AppState) -> Result<RelinkReport, ApiError> {
    let failed = |e: crate::capture::CaptureError| {
        tracing::error!(error = %e, "relink after a directory push failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the directory was stored but relinking failed; POST rematch to retry",
        )
    };
    match &state.capture {
        Some(c) => {
            let report = c.capture.rematch().await.map_err(failed)?;
            if report.full_queued > 0 {
                // Bodies of newly matched email, now rather than at the sweep.
                c.worker.send(Command::SyncNow {
                    account_id: None,
                    mode: SyncMode::Auto,
                });
            }
            Ok(report)
        }
        None => {
            let capture =
                Capture::from_config(&state.config, state.store.clone(), state.clock.clone())
                    .map_err(failed)?;
            capture.rematch().await.map_err(failed)
        }
    }
}

/// Names the first bad entry; the store canonicalises what passes.
fn validate(d: &Directory) -> Result<(), String> {
    let mut ids = HashSet::new();
    let mut emails = HashSet::new();
    for u in &d.users {
        check_id("user", &u.id, &mut ids)?;
        let email = normalize_mailbox(&u.email)
            .ok_or_else(|| format!("user {}: bad email {:?}", u.id, u.email))?;
        if !emails.insert(email) {
            return Err(format!("user {}: duplicate email {:?}", u.id, u.email));
        }
    }
    let mut investors = HashSet::new();
    for i in &d.investors {
        check_id("investor", &i.id, &mut investors)?;
        for dom in &i.domains {
            let clean = dom.trim().trim_start_matches('@').to_ascii_lowercase();
            // Non-ASCII (IDN) names are converted and checked by the store.
            if clean.is_ascii() && !is_valid_domain(&clean) {
                return Err(format!("investor {}: bad domain {dom:?}", i.id));
            }
        }
    }
    let (mut ids, mut emails) = (HashSet::new(), HashSet::new());
    for c in &d.contacts {
        check_id("contact", &c.id, &mut ids)?;
        if !investors.contains(&c.investor_id) {
            return Err(format!(
                "contact {}: unknown investor_id {:?}",
                c.id, c.investor_id
            ));
        }
        let email = c.email.trim().to_lowercase();
        let ok = email
            .rsplit_once('@')
            .is_some_and(|(l, _)| !l.is_empty() && !l.chars().any(char::is_whitespace));
        if !ok {
            return Err(format!("contact {}: bad email {:?}", c.id, c.email));
        }
        if !emails.insert(email) {
            return Err(format!("contact {}: duplicate email {:?}", c.id, c.email));
        }
    }
    for x in &d.exclusions {
        if x.trim().is_empty() || x.chars().any(char::is_control) {
            return Err(format!("exclusion {x:?} is not an address or a domain"));
        }
    }
    Ok(())
}

fn check_id(kind: &str, id: &str, seen: &mut HashSet<String>) -> Result<(), String> {
    if id.trim().is_empty() {
        return Err(format!("a {kind} has an empty id"));
    }
    if id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(format!(
            "{kind} id {id:?} is too long or has control characters"
        ));
    }
    if !seen.insert(id.to_string()) {
        return Err(format!("duplicate {kind} id {id:?}"));
    }
    Ok(())
}

fn doc() -> Value {
    let s = |t: &str| json!({"type": t});
    json!({
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {
                "users": {"type": "array", "items": {"type": "object",
                    "required": ["id", "email", "role"],
                    "properties": {"id": s("string"), "email": s("string"), "name": s("string"),
                        "role": {"enum": ["admin", "member", "bot"]}, "active": s("boolean")}}},
                "investors": {"type": "array", "items": {"type": "object", "required": ["id"],
                    "properties": {"id": s("string"), "name": s("string"),
                        "domains": {"type": "array", "items": s("string")},
                        "graveyard": s("boolean")}}},
                "contacts": {"type": "array", "items": {"type": "object",
                    "required": ["id", "investor_id", "email"],
                    "properties": {"id": s("string"), "investor_id": s("string"),
                        "email": s("string"), "name": s("string")}}},
                "exclusions": {"type": "array", "items": s("string"),
                    "description": "addresses or whole domains never to log"}
            }}}}},
        "responses": {
            "200": {"description": "stored; relinked = emails whose links changed",
                "content": {"application/json": {"schema": {"type": "object",
                    "required": ["users", "investors", "contacts", "relinked"],
                    "properties": {"users": s("integer"), "investors": s("integer"),
                        "contacts": s("integer"), "domains": s("integer"),
                        "exclusions": s("integer"), "relinked": s("integer"),
                        "proposals": s("integer")}}}}},
            "400": {"description": "malformed JSON"},
            "413": {"description": "body over 8 MiB"},
            "422": {"description": "a bad entry (named in the message); nothing stored"}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DirectoryContact, DirectoryInvestor};

    fn dir() -> Directory {
        Directory {
            investors: vec![DirectoryInvestor {
                id: "inv".into(),
                name: "Acme".into(),
                domains: vec!["acme.vc".into()],
                graveyard: false,
            }],
            contacts: vec![DirectoryContact {
                id: "c".into(),
                investor_id: "inv".into(),
                email: "jo@acme.vc".into(),
                name: "Jo".into(),
            }],
            ..Directory::default()
        }
    }

    #[test]
    fn bad_directories_are_refused_naming_the_entry() {
        type Edit = fn(&mut Directory);
        let cases: Vec<(Edit, &str)> = vec![
            (|d| d.investors[0].id = " ".into(), "empty id"),
            (
                |d| d.investors.push(d.investors[0].clone()),
                "duplicate investor id",
            ),
            (
                |d| d.investors[0].domains.push("not a domain".into()),
                "bad domain",
            ),
            (
                |d| d.contacts[0].investor_id = "nope".into(),
                "unknown investor_id",
            ),
            (|d| d.contacts[0].email = "nobody".into(), "bad email"),
            (
                |d| {
                    let mut c = d.contacts[0].clone();
                    c.id = "c2".into();
                    d.contacts.push(c)
                },
                "duplicate email",
            ),
            (|d| d.exclusions.push("".into()), "exclusion"),
        ];
        for (edit, want) in cases {
            let mut d = dir();
            edit(&mut d);
            let e = validate(&d).unwrap_err();
            assert!(e.contains(want), "{e} should mention {want}");
        }
        validate(&dir()).unwrap();
    }
}
