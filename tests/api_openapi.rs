//! The OpenAPI 3.1 document: the committed `openapi.json` equals the one
//! generated from the route table (regenerate with
//! `UPDATE_OPENAPI=1 cargo test --test api_openapi`), it is structurally
//! sound (every path parameter declared, operationIds unique, every `$ref`
//! resolves, roles and security follow the access rules), and the daemon
//! serves exactly it.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use email_sidecar::http::openapi::{document, path_params};
use email_sidecar::http::routes::{self, Access};
use reqwest::StatusCode;
use serde_json::Value;
use support::api::{As, ADMIN, MEMBER};

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

/// `METHOD path` → operation, for every operation of `doc`.
fn operations(doc: &Value) -> BTreeMap<String, Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.insert(format!("{} {path}", method.to_uppercase()), op.clone());
        }
    }
    ops
}

#[test]
fn the_committed_openapi_json_is_the_document_generated_from_the_route_table() {
    let generated = document(&routes::all());
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        return;
    }
    let committed: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    if committed != generated {
        let (ours, theirs) = (operations(&generated), operations(&committed));
        let differ: Vec<&String> = ours
            .keys()
            .chain(theirs.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|k| ours.get(*k) != theirs.get(*k))
            .collect();
        panic!(
            "{} is not the document the route table generates (operations that differ: {differ:?}; \
             or the info/components). Regenerate it with \
             `UPDATE_OPENAPI=1 cargo test --test api_openapi` and commit it.",
            path.display()
        );
    }
}

#[test]
fn the_document_is_structurally_sound_openapi_3_1() {
    let doc = document(&routes::all());
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut ids = BTreeSet::new();
    for (key, op) in operations(&doc) {
        let path = key.split_once(' ').unwrap().1;
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: no operationId"));
        assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{key}: no summary"
        );
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{key}: path parameter not required"))
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let in_template: BTreeSet<&str> = path_params(path).into_iter().collect();
        assert_eq!(declared, in_template, "{key}: path parameters");
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{key}: no responses"));
        assert!(
            responses
                .keys()
                .any(|c| c.starts_with('2') || c.starts_with('3')),
            "{key}: no success response"
        );
        for code in responses.keys() {
            assert!(
                code == "default" || (code.len() == 3 && code.parse::<u16>().is_ok()),
                "{key}: {code}"
            );
        }
        for s in op["security"].as_array().unwrap() {
            for scheme in s.as_object().unwrap().keys() {
                assert!(
                    doc["components"]["securitySchemes"].get(scheme).is_some(),
                    "{key}: {scheme}"
                );
            }
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "$ref {r} does not resolve");
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn roles_and_security_in_the_document_follow_each_routes_access_rule() {
    let doc = document(&routes::all());
    for def in routes::all() {
        let op = &doc["paths"][def.path][def.method.as_str().to_lowercase()];
        let roles: Vec<&str> = op["x-roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let (want_roles, bearer): (Vec<&str>, bool) = match def.access {
            Access::Public => (vec!["anyone"], false),
            Access::OwnProof => (vec!["own-proof"], false),
            Access::Token { roles, service } => {
                let mut v: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                if service {
                    v.push("service");
                }
                (v, true)
            }
        };
        assert_eq!(roles, want_roles, "{} {}", def.method, def.path);
        let security = op["security"].as_array().unwrap();
        assert_eq!(
            !security.is_empty(),
            bearer,
            "{} {}: security",
            def.method,
            def.path
        );
        assert_eq!(
            op["responses"].get("401").is_some(),
            bearer,
            "{} {}: 401",
            def.method,
            def.path
        );
        // Disabled → 503 on every route but health and status (whose own
        // failures may still document one).
        if !def.when_disabled {
            assert!(
                op["responses"].get("503").is_some(),
                "{} {}: 503",
                def.method,
                def.path
            );
        }
    }
}

#[tokio::test]
async fn the_daemon_serves_the_generated_document_to_admins_and_the_crm_only() {
    let (_app, api, stop) = support::api::served_with_users().await;
    let generated = document(&routes::all());
    for who in [As::Service, As::User(ADMIN)] {
        let (s, body) = api.get("/api/email/openapi.json", who).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body, generated);
    }
    let (s, body) = api.get("/api/email/openapi.json", As::User(MEMBER)).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    stop.cancel();
}
