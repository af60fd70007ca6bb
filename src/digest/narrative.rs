//! The paragraph per team member: an OpenAI-compatible chat completion
//! (`config.llm`, self-hosted) when configured, else — and on any failure
//! of it — a deterministic count summary. After the first LLM failure the
//! rest of the digest uses the deterministic text rather than waiting for
//! a timeout per member.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

use super::builder::MemberSummary;
use crate::config::LlmConfig;

/// LLM requests in flight at once.
const LLM_CONCURRENCY: usize = 4;
/// A longer answer is not a paragraph; use the deterministic text.
const MAX_NARRATIVE_CHARS: usize = 1200;
/// Investor names spelled out before "and N more".
const NAMES_SHOWN: usize = 5;

/// "Alice exchanged 5 emails with 3 investors (Acme, Beta, Gamma): 3 received, 2 sent."
pub fn deterministic(m: &MemberSummary) -> String {
    if m.emails == 0 {
        return format!("{} had no investor email in this period.", m.name);
    }
    let mut names = m.investors[..m.investors.len().min(NAMES_SHOWN)].join(", ");
    if m.investors.len() > NAMES_SHOWN {
        names.push_str(&format!(" and {} more", m.investors.len() - NAMES_SHOWN));
    }
    format!(
        "{} exchanged {} with {} ({names}): {} received, {} sent.",
        m.name,
        plural(m.emails, "email"),
        plural(m.investors.len(), "investor"),
        m.received,
        m.sent
    )
}

pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Fills every member's narrative: the LLM's where it answers well, else
/// the deterministic one. Members without email always get the latter.
pub async fn fill(members: &mut [MemberSummary], llm: Option<&LlmConfig>, http: &reqwest::Client) {
    for m in members.iter_mut() {
        m.narrative = deterministic(m);
    }
    let Some(llm) = llm else { return };
    let jobs: Vec<(usize, Value)> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.emails > 0)
        .map(|(i, m)| (i, facts(m)))
        .collect();
    let broken = Arc::new(AtomicBool::new(false));
    let asks = jobs.into_iter().map(|(i, facts)| {
        let (llm, http, broken) = (llm.clone(), http.clone(), broken.clone());
        async move {
            if broken.load(Ordering::Relaxed) {
                return (i, None);
            }
            let answer = ask(&llm, &http, facts).await;
            if let Err(e) = &answer {
                tracing::warn!(error = %e, "LLM narrative failed; deterministic text used");
                broken.store(true, Ordering::Relaxed);
            }
            (i, answer.ok())
        }
    });
    let answers: Vec<(usize, Option<String>)> = futures::stream::iter(asks)
        .buffer_unordered(LLM_CONCURRENCY)
        .collect()
        .await;
    for (i, text) in answers {
        if let (Some(text), Some(m)) = (text, members.get_mut(i)) {
            m.narrative = text;
        }
    }
}

fn facts(m: &MemberSummary) -> Value {
    json!({
        "team_member": m.name,
        "emails": m.emails,
        "received": m.received,
        "sent": m.sent,
        "investors": m.investors,
        "subjects": m.subjects.iter().take(30).collect::<Vec<_>>(),
    })
}

/// One chat completion for one member's facts; the paragraph or why not.
async fn ask(llm: &LlmConfig, http: &reqwest::Client, facts: Value) -> Result<String, String> {
    let url = format!("{}/chat/completions", llm.base_url.trim_end_matches('/'));
    let body = json!({
        "model": llm.model,
        "temperature": 0,
        "max_tokens": 300,
        "messages": [
            {"role": "system", "content": "You write one short, factual paragraph (2-3 sentences) \
              for a venture fund's internal daily email digest, summarising one team member's \
              email with investors. Use only the facts given. No greeting, no markdown."},
            {"role": "user", "content": facts.to_string()},
        ],
    });
    let mut req = http
        .post(url)
        .timeout(Duration::from_secs(llm.timeout_secs))
        .json(&body);
    if let Some(key) = &llm.api_key {
        req = req.bearer_auth(key.expose());
    }
    let resp = req.send().await.map_err(|e| format!("request: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let v: Value = resp.json().await.map_err(|e| format!("answer: {e}"))?;
    let text = v["choices"][0]["message"]["content"]
        .as_str()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_NARRATIVE_CHARS {
        return Err(format!("unusable answer ({} chars)", text.chars().count()));
    }
    Ok(text)
}
