//! A fake OpenAI-compatible chat endpoint for the LLM note tests: a real
//! axum server on 127.0.0.1:0 in the test process, answering
//! `POST /v1/chat/completions` the way the test sets ([`LlmMode`]) and
//! recording every request (bearer header and JSON body).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

/// How the fake answers.
#[derive(Debug, Clone)]
pub enum LlmMode {
    /// A chat completion whose content is this text.
    Reply(String),
    /// This HTTP status with a JSON error body.
    Status(u16),
    /// Waits this long, then replies with the text.
    Slow(Duration, String),
    /// 200 with a body that is not a chat completion.
    Malformed,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    mode: Option<LlmMode>,
    requests: Vec<Recorded>,
}

pub struct FakeLlm {
    /// What `CRM_LLM_BASE_URL` should be (`http://127.0.0.1:P/v1`).
    pub base_url: String,
    shared: Arc<Mutex<Shared>>,
}

impl FakeLlm {
    pub async fn start(mode: LlmMode) -> FakeLlm {
        let shared = Arc::new(Mutex::new(Shared {
            mode: Some(mode),
            requests: Vec::new(),
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeLlm { base_url, shared }
    }

    pub fn set_mode(&self, mode: LlmMode) {
        self.shared.lock().unwrap().mode = Some(mode);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }
}

fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}]
    })
}

async fn complete(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mode = {
        let mut s = shared.lock().unwrap();
        s.requests.push(Recorded {
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(String::from),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        s.mode.clone().unwrap()
    };
    match mode {
        LlmMode::Reply(text) => axum::Json(completion(&text)).into_response(),
        LlmMode::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            axum::Json(json!({"error": {"message": "boom"}})),
        )
            .into_response(),
        LlmMode::Slow(wait, text) => {
            tokio::time::sleep(wait).await;
            axum::Json(completion(&text)).into_response()
        }
        LlmMode::Malformed => (
            [("content-type", "application/json")],
            "{\"choices\": [{\"message\": ",
        )
            .into_response(),
    }
}
