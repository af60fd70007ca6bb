//! Bad input on the proposal, feed and directory routes: 4xx in the SPEC
//! error shape with a message, and no table changed.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::*;
use crate::support::api::{As, ADMIN, BOT};

#[tokio::test]
async fn bad_input_is_refused_in_the_error_shape_and_changes_nothing() {
    let (app, api, _stop) = world().await;
    sync(&app).await;
    let pid = proposal_id(&app, "Follow-up", "inv");
    let before = dump(&app);
    let decide_path = format!("/api/email/proposals/{pid}/decide");
    let bodies: Vec<(&str, &str, StatusCode)> = vec![
        (
            decide_path.as_str(),
            "{\"decision\": ",
            StatusCode::BAD_REQUEST,
        ),
        (
            decide_path.as_str(),
            "{\"decision\": 5}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            decide_path.as_str(),
            "{\"decision\": \"maybe\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            decide_path.as_str(),
            "{\"decision\": \"approve\", \"note\": \"  \"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            decide_path.as_str(),
            "{\"decision\": \"approve\", \"note\": 3}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (decide_path.as_str(), "[]", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "/api/email/proposals/..%2Fx/decide",
            "{\"decision\": \"approve\"}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/1%3BDROP%20TABLE%20emails/decide",
            "{\"decision\": \"approve\"}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/0/decide",
            "{\"decision\": \"approve\"}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/999999/decide",
            "{\"decision\": \"approve\"}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/999999/posted",
            "{}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/999999/closed",
            "",
            StatusCode::NOT_FOUND,
        ),
    ];
    for (path, body, want) in bodies {
        let resp = api
            .request(Method::POST, path, As::User(ADMIN))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_error(resp, want, &format!("POST {path} {body}")).await;
    }
    let posted_bad = format!("/api/email/proposals/{pid}/posted");
    for body in ["{\"ref\": 5}", "{\"ref\": "] {
        let resp = api
            .request(Method::POST, &posted_bad, As::User(BOT))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error());
        assert_error(resp, None, body).await;
    }
    for query in [
        "/api/email/proposals?status=bogus",
        "/api/email/proposals?before=garbage",
        "/api/email/proposals?before=1:x",
        "/api/email/proposals?limit=0",
        "/api/email/proposals?limit=501",
        "/api/email/proposals/work?limit=-1",
        "/api/email/feed?after=-1",
        "/api/email/feed?after=abc",
        "/api/email/feed?limit=9999",
    ] {
        let who = if query.contains("feed") {
            As::Service
        } else {
            As::User(ADMIN)
        };
        let resp = api.request(Method::GET, query, who).send().await.unwrap();
        assert_error(resp, StatusCode::BAD_REQUEST, query).await;
    }
    let mut dup = world_directory();
    dup["investors"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "inv"}));
    let mut orphan = world_directory();
    orphan["contacts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "c9", "investor_id": "nope", "email": "x@y.vc"}));
    let mut bad_domain = world_directory();
    bad_domain["investors"][0]["domains"] = json!(["acme..vc"]);
    let mut bad_role = world_directory();
    bad_role["users"][0]["role"] = json!("owner");
    let directories: Vec<(String, StatusCode, &str)> = vec![
        ("{\"users\": [".into(), StatusCode::BAD_REQUEST, ""),
        (
            "{\"users\": 5, \"investors\": [], \"contacts\": []}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "users",
        ),
        ("{}".into(), StatusCode::UNPROCESSABLE_ENTITY, "users"),
        (
            "{\"users\": [], \"investors\": []}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "contacts",
        ),
        ("[]".into(), StatusCode::UNPROCESSABLE_ENTITY, "object"),
        (bad_role.to_string(), StatusCode::UNPROCESSABLE_ENTITY, ""),
        (dup.to_string(), StatusCode::UNPROCESSABLE_ENTITY, "\"inv\""),
        (orphan.to_string(), StatusCode::UNPROCESSABLE_ENTITY, "c9"),
        (
            bad_domain.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "acme..vc",
        ),
    ];
    for (body, want, names) in directories {
        let resp = api
            .request(Method::PUT, "/api/email/directory", As::Service)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let msg = assert_error(resp, want, &body).await;
        assert!(msg.contains(names), "{msg:?} should name {names}");
    }
    assert_eq!(dump(&app), before, "no table changed");
}
