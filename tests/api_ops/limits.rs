//! The HTTP limits, request ids and the middleware's error shapes; a
//! route that raises its own body limit.

use super::metrics::samples;
use super::*;

#[tokio::test]
async fn limits_request_ids_and_middleware_errors_answer_in_the_spec_shape() {
    let app = app(&[ALICE]).await;
    let (api, stop) = app.serve_api().await;
    let big = "x".repeat(email_sidecar::http::BODY_LIMIT + 10);
    for path in ["/api/email/accounts/enroll", "/api/email/push"] {
        let resp = api
            .request(Method::POST, path, As::User(ADMIN))
            .header("content-type", "application/json")
            .body(format!("{{\"email\": \"{big}\"}}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large", "{path}: {body}");
    }
    let long = "q=".to_string() + &"a".repeat(email_sidecar::http::QUERY_LIMIT + 1);
    for (path, who) in [
        ("/api/email/accounts", As::User(ADMIN)),
        ("/api/email/accounts", As::NoToken),
        ("/api/email/nowhere", As::NoToken),
    ] {
        let (s, body) = api.get(&format!("{path}?{long}"), who).await;
        assert_eq!(s, StatusCode::URI_TOO_LONG, "{path}");
        assert_eq!(body["error"]["code"], "query_too_long");
    }
    let (s, _) = api
        .get(
            &format!("/api/email/accounts?q={}", "a".repeat(2000)),
            As::User(ADMIN),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "a query under the limit passes");

    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            api.request(Method::POST, "/api/email/accounts/enroll", As::User(ADMIN))
                .header("content-type", "application/json")
                .body("{\"email\": "),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            api.request(Method::POST, "/api/email/accounts/enroll", As::User(ADMIN))
                .body("email=x"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            api.request(Method::POST, "/api/email/accounts/enroll", As::User(ADMIN))
                .json(&json!({"email": 7})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            api.request(Method::GET, "/api/email/nowhere", As::User(ADMIN)),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            api.request(Method::DELETE, "/api/email/accounts", As::User(ADMIN)),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            api.request(Method::GET, "/api/email/accounts", As::User(MEMBER)),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ];
    for (rb, status, code) in cases {
        let resp = rb.send().await.unwrap();
        assert_eq!(resp.status(), status, "{code}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(
        app.store.list_accounts().unwrap().len(),
        1,
        "bad input changed nothing"
    );

    let id_of = |resp: &reqwest::Response| {
        resp.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let resp = api
        .request(Method::GET, "/api/email/health", As::NoToken)
        .header("x-request-id", "crm-42.a")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&resp).as_deref(), Some("crm-42.a"));
    let long_id = "x".repeat(300);
    for given in [None, Some("bad id"), Some(long_id.as_str())] {
        let mut rb = api.request(Method::GET, "/api/email/health", As::NoToken);
        if let Some(g) = given {
            rb = rb.header("x-request-id", g);
        }
        let id = id_of(&rb.send().await.unwrap()).unwrap();
        assert_eq!(id.len(), 36, "a fresh UUID for {given:?}: {id}");
        assert_eq!(id.matches('-').count(), 4, "{id}");
    }

    // Invented methods and unknown paths share labels: no unbounded series.
    let brew = Method::from_bytes(b"BREW").unwrap();
    let (s, _) = api
        .call(brew, "/api/email/coffee/42", As::NoToken, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let text = api.metrics().await;
    let counts = samples(&text, "email_sidecar_http_request_duration_seconds_count");
    assert_eq!(
        counts.get("route=\"unmatched\",method=\"OTHER\",status=\"404\""),
        Some(&1.0),
        "{counts:?}"
    );
    assert!(!text.contains("BREW") && !text.contains("coffee"));
    stop.cancel();
}

async fn body_len(
    email_sidecar::http::extract::ApiJson(v): email_sidecar::http::extract::ApiJson<Value>,
) -> axum::Json<Value> {
    axum::Json(json!({"len": v.to_string().len()}))
}

#[tokio::test]
async fn a_route_may_raise_its_body_limit_and_the_others_keep_the_default() {
    use email_sidecar::http::routes::{Access, RouteDef};
    let app = app(&[ALICE]).await;
    let state = email_sidecar::http::AppState::new(
        app.store.clone(),
        std::sync::Arc::new(app.config.clone()),
        app.clock.clone(),
    );
    let route = |path: &'static str| {
        RouteDef::new(
            Method::POST,
            path,
            Access::Public,
            axum::routing::post(body_len),
        )
    };
    let defs = vec![
        route("/api/email/big").body_limit(4 * 1024 * 1024),
        route("/api/email/small"),
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = email_sidecar::http::router_for(state, defs);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let post = |path: &str, mib: usize| {
        let body = json!({"x": "y".repeat(mib * 1024 * 1024)});
        client.post(format!("{base}{path}")).json(&body).send()
    };
    let resp = post("/api/email/big", 2).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert!(body["len"].as_u64().unwrap() > 2 * 1024 * 1024);
    for (path, mib) in [("/api/email/big", 5), ("/api/email/small", 2)] {
        let resp = post(path, mib).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large");
    }
    server.abort();
}
