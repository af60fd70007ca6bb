//! OpenAPI 3.1 fragments (parameters, requestBody, responses) of the
//! proposal and feed routes; the served document is built from them.

use serde_json::{json, Value};

fn error_ref(what: &str) -> Value {
    json!({"description": what, "content": {"application/json": {"schema": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}}}}}})
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true,
           "description": "proposal id (a positive integer as a string)",
           "schema": {"type": "string"}})
}

fn limit_param() -> Value {
    json!({"name": "limit", "in": "query", "required": false,
           "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

/// The SPEC §11 proposal item (plus note_source, bot marks, linked).
pub(super) fn proposal_schema() -> Value {
    json!({"type": "object",
    "required": ["id", "email_id", "investor_id", "contact_id", "direction", "occurred_at",
                 "subject", "note", "status", "decided_by", "decided_at"],
    "properties": {
        "id": {"type": "string"}, "email_id": {"type": "string"},
        "investor_id": {"type": "string"}, "contact_id": nullable("string"),
        "direction": {"enum": ["inbound", "outbound"]}, "occurred_at": time(),
        "subject": {"type": "string"}, "note": {"type": "string"},
        "note_source": {"enum": ["deterministic", "llm"]},
        "status": {"enum": ["pending", "approved", "rejected"]},
        "decided_by": nullable("string"), "decided_at": nullable("string"),
        "posted_at": nullable("string"), "posted_ref": nullable("string"),
        "closed_at": nullable("string"),
        "linked": {"type": "boolean", "description": "the email is still linked to the investor"}
    }})
}

fn one(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": proposal_schema()}}})
}

pub(super) fn list() -> Value {
    json!({
        "parameters": [
            {"name": "status", "in": "query", "required": false,
             "schema": {"enum": ["pending", "approved", "rejected"]}},
            {"name": "before", "in": "query", "required": false,
             "description": "the previous page's next", "schema": {"type": "string"}},
            limit_param()
        ],
        "responses": {
            "200": {"description": "newest first by occurred_at, then id",
                "content": {"application/json": {"schema": {"type": "object",
                    "properties": {"items": {"type": "array", "items": proposal_schema()},
                                   "next": nullable("string")}}}}},
            "400": error_ref("bad status, cursor or limit")
        }
    })
}

pub(super) fn work() -> Value {
    let arr = json!({"type": "array", "items": proposal_schema()});
    json!({
        "parameters": [limit_param()],
        "responses": {
            "200": {"description": "each list oldest first, at most limit long",
                "content": {"application/json": {"schema": {"type": "object",
                    "properties": {"to_post": arr, "open": arr, "to_close": arr}}}}}
        }
    })
}

pub(super) fn decide() -> Value {
    json!({
        "parameters": [id_param()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["decision"],
            "properties": {"decision": {"enum": ["approve", "reject"]},
                           "note": {"type": "string", "description": "edited note"}}}}}},
        "responses": {
            "200": one("the proposal as decided (the same decision again answers the stored result)"),
            "400": error_ref("malformed JSON"),
            "404": error_ref("no such proposal"),
            "409": error_ref("already decided the other way"),
            "422": error_ref("unknown decision or bad note")
        }
    })
}

pub(super) fn mark(posted: bool) -> Value {
    let mut doc = json!({
        "parameters": [id_param()],
        "responses": {"200": one("the proposal with its marks"), "404": error_ref("no such proposal")}
    });
    if posted {
        doc["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"ref": {"type": "string",
                "description": "the card's id in the chat room"}}}}}});
        doc["responses"]["422"] = error_ref("bad ref");
    } else {
        doc["responses"]["409"] = error_ref("still pending: decide it first");
    }
    doc
}

pub(super) fn feed() -> Value {
    let item = json!({"type": "object",
    "required": ["seq", "proposal_id", "investor_id", "contact_id", "email_id", "occurred_at",
                 "direction", "subject", "note", "approved_by", "approved_at"],
    "properties": {
        "seq": {"type": "integer"}, "proposal_id": {"type": "string"},
        "investor_id": {"type": "string"}, "contact_id": nullable("string"),
        "email_id": {"type": "string"}, "occurred_at": time(),
        "direction": {"enum": ["inbound", "outbound"]}, "subject": {"type": "string"},
        "note": {"type": "string"}, "approved_by": {"type": "string"}, "approved_at": time()
    }});
    json!({
        "parameters": [
            {"name": "after", "in": "query", "required": false,
             "description": "the last seq already applied (default 0)",
             "schema": {"type": "integer", "minimum": 0}},
            limit_param()
        ],
        "responses": {
            "200": {"description": "ordered by seq; next is the last seq when the page is full",
                "content": {"application/json": {"schema": {"type": "object",
                    "properties": {"items": {"type": "array", "items": item},
                                   "next": nullable("string")}}}}},
            "400": error_ref("bad after or limit")
        }
    })
}
