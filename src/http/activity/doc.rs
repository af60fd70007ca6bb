//! OpenAPI 3.1 fragments (parameters, responses) of the read routes; the
//! document itself is generated from the route table.

use serde_json::{json, Value};

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn path_id(what: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true,
           "description": format!("The {what}'s id (a positive integer, as a string)"),
           "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"}})
}

fn paging_params() -> Vec<Value> {
    vec![
        query_param(
            "before",
            "The `next` of the previous page (opaque)",
            json!({"type": "string"}),
        ),
        query_param(
            "limit",
            "Page size, 1–500 (default 50)",
            json!({"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
        ),
    ]
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}}}})
}

fn item_schema() -> Value {
    let person = json!({"type": "object", "properties": {"email": {"type": "string"}, "name": {"type": "string"}}});
    json!({"type": "object", "properties": {
        "email_id": {"type": "string"}, "message_id": {"type": "string"},
        "subject": {"type": "string"}, "from": person,
        "to": {"type": "array", "items": person}, "cc": {"type": "array", "items": person},
        "date": {"type": "string", "format": "date-time"},
        "direction": {"type": "string", "enum": ["inbound", "outbound"]},
        "snippet": {"type": "string", "description": "Plain text (Gmail's HTML escaping undone): escape it before putting it in HTML"}, "has_attachments": {"type": "boolean"},
        "investors": {"type": "array", "items": {"type": "object", "properties": {
            "investor_id": {"type": "string"}, "contact_id": {"type": ["string", "null"]},
            "strategy": {"type": "string", "enum": ["exact", "domain"]}}}},
        "accounts": {"type": "array", "items": {"type": "string"}},
        "thread_id": {"type": ["string", "null"]}}})
}

fn list_of(items: Value) -> Value {
    json!({"description": "One page", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"items": {"type": "array", "items": items},
        "next": {"type": ["string", "null"]}}}}}})
}

pub(super) fn activity() -> Value {
    let mut parameters = vec![
        query_param("investor_id", "Only email linked to this investor (the CRM's id)", json!({"type": "string"})),
        query_param("account_id", "Only email with a live copy in this mailbox (`accounts` id)", json!({"type": "string"})),
        query_param("direction", "inbound or outbound", json!({"type": "string", "enum": ["inbound", "outbound"]})),
        query_param(
            "q",
            "Substring of subject, snippet, sender address or name (literal: % and _ are not wildcards; ASCII case-insensitive; at most 200 characters)",
            json!({"type": "string", "maxLength": 200}),
        ),
    ];
    parameters.extend(paging_params());
    json!({"parameters": parameters, "responses": {
        "200": list_of(item_schema()),
        "400": error_response("A malformed filter, limit or cursor"),
        "414": error_response("The query string is too long")}})
}

pub(super) fn email() -> Value {
    let mut schema = item_schema();
    if let Some(p) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        p.insert("live".into(), json!({"type": "boolean"}));
        p.insert("headers".into(), json!({"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}));
        p.insert("text".into(), json!({"type": ["string", "null"]}));
        p.insert("html_sanitized".into(), json!({"type": ["string", "null"], "description": "No script, no event handlers, no remote loads. Images only from the email itself: an img src of cid:X whose X is the content_id of one of this email's stored attachments points at that attachment's download, /api/email/attachments/{id} (relative); any other cid: stays as written"}));
        p.insert("attachments".into(), json!({"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "filename": {"type": "string"}, "mime_type": {"type": "string"},
            "size": {"type": "integer"}, "sha256": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["pending", "stored", "too_large", "failed"]},
            "content_id": {"type": ["string", "null"], "description": "The part's Content-ID without angle brackets (what a cid: URL names); null when it had none or was captured before content ids were recorded"}}}}));
    }
    json!({"parameters": [path_id("email")], "responses": {
        "200": {"description": "The email", "content": {"application/json": {"schema": schema}}},
        "404": error_response("No matched email with that id")}})
}

pub(super) fn attachment() -> Value {
    json!({"parameters": [path_id("attachment")], "responses": {
        "200": {"description": "The file, as a download (Content-Disposition: attachment)",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "404": error_response("No such attachment of a matched email, or its download failed"),
        "409": error_response("The attachment was over the size cap: recorded, not stored")}})
}

pub(super) fn threads() -> Value {
    let mut parameters = vec![query_param(
        "investor_id",
        "Only threads with email linked to this investor",
        json!({"type": "string"}),
    )];
    parameters.extend(paging_params());
    let summary = json!({"type": "object", "properties": {
        "thread_id": {"type": "string"}, "subject": {"type": "string"},
        "email_count": {"type": "integer"}, "first_date": {"type": "string", "format": "date-time"},
        "last_date": {"type": "string", "format": "date-time"},
        "investors": {"type": "array", "items": {"type": "string"}}, "latest": item_schema()}});
    json!({"parameters": parameters, "responses": {
        "200": list_of(summary), "400": error_response("A malformed filter, limit or cursor")}})
}

pub(super) fn thread() -> Value {
    json!({"parameters": [path_id("thread")], "responses": {
        "200": {"description": "The thread", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"thread_id": {"type": "string"}, "subject": {"type": "string"},
            "emails": {"type": "array", "items": item_schema()}, "truncated": {"type": "boolean"}}}}}},
        "404": error_response("No thread with matched, live email under that id")}})
}
