//! A minimal OpenAI-compatible chat-completions client for the optional,
//! self-hosted LLM (`CRM_LLM_BASE_URL`): one `POST {base}/chat/completions`
//! with a timeout, the bearer key when configured, and a strict reading of
//! the answer. Every way it can go wrong is an [`LlmError`]; the caller
//! keeps the deterministic text on any of them.

use std::time::Duration;

use serde_json::{json, Value};

use crate::config::LlmConfig;
use crate::secret::Secret;

/// Longest note we accept from the model (characters); more is a failure
/// rather than a silent cut, so a rambling model is noticed.
pub const MAX_NOTE_CHARS: usize = 1500;
/// Longest answer body read (bytes).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM endpoint did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the LLM endpoint could not be reached: {0}")]
    Transport(String),
    #[error("the LLM endpoint answered HTTP {0}")]
    Status(u16),
    #[error("the LLM answer is not a chat completion: {0}")]
    Malformed(String),
    #[error("the LLM answer is empty")]
    Empty,
    #[error("the LLM answer is too long ({0} characters)")]
    TooLong(usize),
}

impl LlmError {
    /// Could the same call succeed later? (The note worker records one
    /// attempt per proposal either way; this is for logs and metrics.)
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::Status(s) => *s == 429 || *s >= 500,
            Self::Malformed(_) | Self::Empty | Self::TooLong(_) => false,
        }
    }
}

/// The chat endpoint of one [`LlmConfig`].
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<Secret<String>>,
    timeout: Duration,
}

impl LlmClient {
    pub fn new(http: reqwest::Client, config: &LlmConfig) -> LlmClient {
        LlmClient {
            http,
            url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            model: config.model.clone(),
            api_key: config.api_key.clone(),
            timeout: Duration::from_secs(config.timeout_secs),
        }
    }

    /// A client with another timeout (tests use a short one).
    pub fn with_timeout(mut self, timeout: Duration) -> LlmClient {
        self.timeout = timeout;
        self
    }

    /// Asks for one completion of `system` + `user`; the answer's text,
    /// trimmed, non-empty and at most [`MAX_NOTE_CHARS`] long.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0.2,
            "stream": false,
        });
        let mut req = self.http.post(&self.url).json(&body).timeout(self.timeout);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key.expose());
        }
        let call = async {
            let resp = req.send().await.map_err(|e| self.transport(e))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(LlmError::Status(status.as_u16()));
            }
            let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
            Ok(bytes)
        };
        // The outer timeout also bounds a server that trickles its body.
        let bytes = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| LlmError::Timeout(self.timeout))??;
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(LlmError::TooLong(bytes.len()));
        }
        read_completion(&bytes)
    }

    fn transport(&self, e: reqwest::Error) -> LlmError {
        if e.is_timeout() {
            LlmError::Timeout(self.timeout)
        } else {
            // Without the URL: it is ours, and logs already say which.
            LlmError::Transport(e.without_url().to_string())
        }
    }
}

/// `choices[0].message.content` of a chat completion, validated.
pub fn read_completion(bytes: &[u8]) -> Result<String, LlmError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| LlmError::Malformed(e.to_string()))?;
    let content = v
        .pointer("/choices/0/message/content")
        .ok_or_else(|| LlmError::Malformed("no choices[0].message.content".into()))?
        .as_str()
        .ok_or_else(|| LlmError::Malformed("content is not a string".into()))?
        .trim();
    if content.is_empty() {
        return Err(LlmError::Empty);
    }
    let n = content.chars().count();
    if n > MAX_NOTE_CHARS {
        return Err(LlmError::TooLong(n));
    }
    Ok(content.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_are_read_strictly() {
        let ok = br#"{"choices":[{"message":{"role":"assistant","content":"  Met Jo.  "}}]}"#;
        assert_eq!(read_completion(ok).unwrap(), "Met Jo.");
        let long = format!(
            r#"{{"choices":[{{"message":{{"content":"{}"}}}}]}}"#,
            "x".repeat(MAX_NOTE_CHARS + 1)
        );
        type Check = fn(&LlmError) -> bool;
        let cases: Vec<(&[u8], Check)> = vec![
            (b"not json", |e| matches!(e, LlmError::Malformed(_))),
            (br#"{"choices":[]}"#, |e| {
                matches!(e, LlmError::Malformed(_))
            }),
            (br#"{"choices":[{"message":{"content":7}}]}"#, |e| {
                matches!(e, LlmError::Malformed(_))
            }),
            (br#"{"choices":[{"message":{"content":" \n "}}]}"#, |e| {
                matches!(e, LlmError::Empty)
            }),
            (long.as_bytes(), |e| matches!(e, LlmError::TooLong(_))),
        ];
        for (body, want) in cases {
            let e = read_completion(body).unwrap_err();
            assert!(want(&e), "{e:?}");
        }
    }
}
