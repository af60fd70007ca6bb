//! `GET /api/email/openapi.json` (admin, service): the OpenAPI 3.1
//! document, generated from the route table ([`super::routes::all`]) so it
//! cannot miss a route or disagree with the access rules. Each operation
//! gets its path parameters, `security` (bearer) unless the route takes
//! no token, an `x-roles` list from its [`Access`], the SPEC error
//! responses, and the route's own `.doc` fragment merged over all that.
//! The repository keeps the generated document as `openapi.json`; a test
//! fails when the two differ.

use std::sync::OnceLock;

use axum::http::Method;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Map, Value};

use super::routes::{self, Access, RouteDef};

pub(super) fn routes() -> Vec<RouteDef> {
    vec![RouteDef::new(
        Method::GET,
        "/api/email/openapi.json",
        Access::ADMIN_OR_SERVICE,
        get(serve),
    )
    .summary("This API's OpenAPI 3.1 document")
    .doc(json!({"responses": {"200": json_response("The OpenAPI document", json!({"type": "object"}))}}))]
}

async fn serve() -> Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(|| document(&routes::all())).clone())
}

/// A JSON request body with `schema` (for a route's `.doc`).
pub(super) fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

/// A JSON response with `schema` (for a route's `.doc`).
pub(super) fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// The OpenAPI 3.1 document of `defs`.
pub fn document(defs: &[RouteDef]) -> Value {
    let mut paths = Map::new();
    for def in defs {
        let item = paths
            .entry(def.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        item[def.method.as_str().to_ascii_lowercase()] = operation(def);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "email-sidecar",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Gmail capture, matching, proposals, drafts and digest for the CRM. \
                Send `Authorization: Bearer <api token>`; name the acting user with `X-CRM-User` \
                (no header = the CRM itself, role `service`). Errors are `{\"error\": {\"code\", \"message\"}}`.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }},
                },
                "Account": super::accounts::account_schema(),
            },
            "responses": {
                "Error": {
                    "description": "An error in the SPEC shape",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
            "parameters": {
                "XCrmUser": {
                    "name": "X-CRM-User",
                    "in": "header",
                    "required": false,
                    "description": "The acting CRM user's email; absent = the CRM itself (service)",
                    "schema": {"type": "string", "format": "email"},
                },
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "The CRM's API token"},
            },
        },
    })
}

/// Who may call, as listed in `x-roles`.
pub fn roles(access: Access) -> Vec<&'static str> {
    match access {
        Access::Public => vec!["anyone"],
        Access::OwnProof => vec!["own-proof"],
        Access::Token { roles, service } => {
            let mut v: Vec<&'static str> = roles.iter().map(|r| r.as_str()).collect();
            if service {
                v.push("service");
            }
            v
        }
    }
}

/// `post_accounts_id` for `POST /api/email/accounts/{id}`.
pub fn operation_id(method: &Method, path: &str) -> String {
    let rest = path.trim_start_matches("/api/email/");
    let mut id = method.as_str().to_ascii_lowercase();
    for seg in rest.split('/') {
        let seg: String = seg
            .chars()
            .filter(|c| !matches!(c, '{' | '}'))
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        id.push('_');
        id.push_str(&seg);
    }
    id
}

/// The `{name}` parameters of a path template.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn operation(def: &RouteDef) -> Value {
    let token = matches!(def.access, Access::Token { .. });
    let mut params: Vec<Value> = path_params(def.path)
        .into_iter()
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if matches!(def.access, Access::Token { roles, .. } if !roles.is_empty()) {
        params.push(json!({"$ref": "#/components/parameters/XCrmUser"}));
    }
    let error = json!({"$ref": "#/components/responses/Error"});
    let mut responses = Map::new();
    responses.insert("default".into(), error.clone());
    if token {
        responses.insert("401".into(), error.clone());
        responses.insert("403".into(), error.clone());
    }
    if !def.when_disabled {
        responses.insert("503".into(), error);
    }
    let mut op = Map::new();
    op.insert(
        "operationId".into(),
        operation_id(&def.method, def.path).into(),
    );
    op.insert("summary".into(), def.summary.into());
    op.insert("x-roles".into(), json!(roles(def.access)));
    let security = if token {
        json!([{"bearerAuth": []}])
    } else {
        json!([])
    };
    op.insert("security".into(), security);
    if let Value::Object(doc) = &def.doc {
        for (k, v) in doc {
            match (k.as_str(), v) {
                ("parameters", Value::Array(extra)) => merge_params(&mut params, extra),
                ("responses", Value::Object(extra)) => responses.extend(extra.clone()),
                _ => {
                    op.insert(k.clone(), v.clone());
                }
            }
        }
    }
    if !responses
        .keys()
        .any(|k| k.starts_with('2') || k.starts_with('3'))
    {
        responses.insert("200".into(), json!({"description": "OK"}));
    }
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The route's own parameters win over generated ones of the same name/in.
fn merge_params(params: &mut Vec<Value>, extra: &[Value]) {
    for p in extra {
        params
            .retain(|q| !(q.get("name").is_some() && q["name"] == p["name"] && q["in"] == p["in"]));
        params.push(p.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_and_path_params_come_from_the_template() {
        assert_eq!(
            operation_id(&Method::POST, "/api/email/proposals/{id}/decide"),
            "post_proposals_id_decide"
        );
        assert_eq!(
            operation_id(&Method::GET, "/api/email/openapi.json"),
            "get_openapi_json"
        );
        assert_eq!(
            path_params("/api/email/threads/{id}/x/{part}"),
            vec!["id", "part"]
        );
        assert!(path_params("/api/email/health").is_empty());
    }
}
