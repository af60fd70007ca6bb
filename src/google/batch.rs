//! `messages.get` through Gmail's batch endpoint (`POST
//! {api_base}/batch/gmail/v1`): up to 50 gets per HTTP request, each inner
//! answer kept as that call's own `Result`. Quota is charged per inner call
//! (5 units each) before a batch goes out; inner 429/5xx are re-sent in a
//! follow-up batch within `retry_max`. Wire format in [`batch_codec`].
//!
//! [`batch_codec`]: crate::google::batch_codec

use crate::google::auth::scopes::GMAIL_READONLY;
use crate::google::batch_codec::{self, InnerRequest, InnerResponse};
use crate::google::calls::{message_query, MessageFormat};
use crate::google::error::GmailError;
use crate::google::gmail::{Failure, GmailClient, Step};
use crate::google::quota::GmailMethod;
use crate::google::retry;
use crate::google::types::Message;
use std::time::Duration;

/// Google recommends at most 50 calls per batch (it accepts 100).
pub const MAX_BATCH: usize = 50;

type ItemResult = Result<Message, GmailError>;

impl GmailClient {
    /// Get many messages through the batch endpoint. The answer has one
    /// entry per id, in the order given; a deleted message is `NotFound`
    /// in its own slot and does not disturb the others.
    pub async fn get_messages_batch(
        &self,
        mailbox: &str,
        ids: &[String],
        format: MessageFormat,
        metadata_headers: &[&str],
    ) -> Vec<ItemResult> {
        let chunks = ids
            .chunks(self.batch_size())
            .map(|chunk| self.batch_chunk(mailbox, chunk, format, metadata_headers));
        futures::future::join_all(chunks)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Calls per batch: at most 50, and no more than one second of the
    /// mailbox's quota (5 units a get), because a batch is charged all at
    /// once and Gmail's per-second window would refuse the excess.
    fn batch_size(&self) -> usize {
        let s = self.settings();
        if s.units_per_sec == 0 {
            return MAX_BATCH;
        }
        let per_sec = f64::from(s.units_per_sec) * (1.0 - s.quota_headroom).clamp(0.0, 1.0);
        let gets = (per_sec / f64::from(GmailMethod::MessagesGet.cost())).floor() as usize;
        gets.clamp(1, MAX_BATCH)
    }

    async fn batch_chunk(
        &self,
        mailbox: &str,
        ids: &[String],
        format: MessageFormat,
        headers: &[&str],
    ) -> Vec<ItemResult> {
        let mut results: Vec<Option<ItemResult>> = vec![None; ids.len()];
        let mut pending: Vec<usize> = (0..ids.len()).collect();
        let (mut attempt, mut refreshed) = (0, false);
        while !pending.is_empty() {
            let wanted: Vec<&str> = pending.iter().map(|&i| ids[i].as_str()).collect();
            let answers = match self.batch_attempt(mailbox, &wanted, format, headers).await {
                Ok(answers) => answers,
                Err(failure) => match self
                    .next_step(&failure, attempt, &mut refreshed, mailbox, GMAIL_READONLY)
                    .await
                {
                    Step::Again => continue,
                    Step::Wait(delay) => {
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                        continue;
                    }
                    Step::GiveUp => {
                        for &i in &pending {
                            results[i] = Some(Err(failure.error.clone()));
                        }
                        break;
                    }
                },
            };
            let mut again = Vec::new();
            let (mut wait, mut new_token) = (None::<Duration>, false);
            for (&i, answer) in pending.iter().zip(answers) {
                match answer.map_err(|e| (self.item_step(&e, attempt, refreshed), e)) {
                    Ok(m) => results[i] = Some(Ok(m)),
                    Err((Step::Again, _)) => {
                        new_token = true;
                        again.push(i);
                    }
                    Err((Step::Wait(d), _)) => {
                        wait = Some(wait.map_or(d, |w| w.max(d)));
                        again.push(i);
                    }
                    Err((Step::GiveUp, e)) => results[i] = Some(Err(e)),
                }
            }
            if new_token {
                // Inner 401s: one fresh token for the next round, once.
                refreshed = true;
                self.forget_token(mailbox).await;
            }
            if let Some(d) = wait {
                tokio::time::sleep(d).await;
                attempt += 1;
            }
            pending = again;
        }
        results
            .into_iter()
            .zip(ids)
            .map(|(r, id)| {
                r.unwrap_or_else(|| {
                    Err(GmailError::Decode(format!(
                        "batch: no result for message {id}"
                    )))
                })
            })
            .collect()
    }

    /// What to do about one inner call's error (see `next_step`).
    fn item_step(&self, error: &GmailError, attempt: u32, refreshed: bool) -> Step {
        let settings = self.settings();
        match error {
            GmailError::Unauthenticated { .. } if !refreshed => Step::Again,
            e if e.is_retryable() && attempt < settings.retry_max => match e.retry_after() {
                Some(after) if after > settings.backoff_cap => Step::GiveUp,
                after => Step::Wait(settings.backoff().delay(attempt, after)),
            },
            _ => Step::GiveUp,
        }
    }

    /// Drop the cached readonly token so the next round mints a new one.
    async fn forget_token(&self, mailbox: &str) {
        if let Ok(token) = self.token_for(mailbox, GMAIL_READONLY).await {
            self.inner
                .tokens
                .invalidate(mailbox, &[GMAIL_READONLY], &token)
                .await;
        }
    }

    /// One batch request; per-item results in `ids` order, or the failure
    /// of the batch as a whole.
    async fn batch_attempt(
        &self,
        mailbox: &str,
        ids: &[&str],
        format: MessageFormat,
        headers: &[&str],
    ) -> Result<Vec<ItemResult>, Failure> {
        let mut requests = Vec::with_capacity(ids.len());
        for id in ids {
            requests.push(
                self.inner_request(mailbox, id, format, headers)
                    .map_err(permanent)?,
            );
        }
        let units = GmailMethod::MessagesGet.cost() * ids.len() as u32;
        let _permit = self.inner.quota.acquire_units(mailbox, units).await;
        let token = self.token_for(mailbox, GMAIL_READONLY).await?;
        let boundary = format!("batch_{:016x}", rand::random::<u64>());
        let body = batch_codec::encode(&boundary, &requests, token.token.expose());
        let url = self.batch_url().map_err(permanent)?;
        let req = self
            .inner
            .http
            .post(url)
            .bearer_auth(token.token.expose())
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/mixed; boundary={boundary}"),
            )
            .timeout(self.inner.settings.request_timeout)
            .body(body);
        let sent = self.send(req).await;
        self.count("batch", sent.as_ref().ok().map(|a| a.status));
        let answer = sent.map_err(|(error, _)| Failure {
            error,
            token: Some(token.clone()),
            may_retry: true,
        })?;
        if !(200..300).contains(&answer.status) {
            let error = retry::error_from_response(
                mailbox,
                "batch",
                answer.status,
                answer.retry_after,
                &answer.body,
            );
            return Err(Failure {
                error,
                token: Some(token),
                may_retry: true,
            });
        }
        let content_type = answer.content_type.unwrap_or_default();
        let parts = batch_codec::decode(&content_type, &answer.body)
            .map_err(|e| permanent(GmailError::Decode(e)))?;
        for part in &parts {
            // Each inner call is a Gmail call of its own (Google counts it so).
            self.count(GmailMethod::MessagesGet.name(), Some(part.status));
        }
        Ok(match_parts(
            mailbox,
            ids,
            parts,
            self.inner.clock.now().into(),
        ))
    }

    fn inner_request(
        &self,
        mailbox: &str,
        id: &str,
        format: MessageFormat,
        headers: &[&str],
    ) -> Result<InnerRequest, GmailError> {
        let mut url = self.users_url(mailbox, &["messages", id])?;
        url.query_pairs_mut()
            .extend_pairs(message_query(format, headers));
        let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
        Ok(InnerRequest {
            path_and_query: format!("{}{query}", url.path()),
        })
    }

    fn batch_url(&self) -> Result<url::Url, GmailError> {
        let base = &self.inner.settings.api_base;
        let mut url = url::Url::parse(base)
            .map_err(|e| GmailError::InvalidRequest(format!("api_base {base:?}: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| {
                GmailError::InvalidRequest(format!("api_base {base:?} cannot take a path"))
            })?
            .pop_if_empty()
            .extend(["batch", "gmail", "v1"]);
        Ok(url)
    }
}

fn permanent(error: GmailError) -> Failure {
    Failure {
        error,
        token: None,
        may_retry: false,
    }
}

/// Line the inner responses up with the requests by Content-ID: part N
/// answers `ids[N-1]`. A missing part is a `Decode` error for that call
/// only; nothing shifts.
pub(crate) fn match_parts(
    mailbox: &str,
    ids: &[&str],
    parts: Vec<InnerResponse>,
    now: std::time::SystemTime,
) -> Vec<ItemResult> {
    let mut slots: Vec<Option<InnerResponse>> = vec![None; ids.len()];
    for part in parts {
        if let Some(slot) = part.item.checked_sub(1).and_then(|i| slots.get_mut(i)) {
            *slot = Some(part);
        }
    }
    slots
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(i, (part, id))| match part {
            None => Err(GmailError::Decode(format!(
                "batch answer has no part for <response-item-{}> (message {id})",
                i + 1
            ))),
            Some(p) if (200..300).contains(&p.status) => serde_json::from_slice::<Message>(&p.body)
                .map_err(|e| GmailError::Decode(format!("batch part for message {id}: {e}"))),
            Some(p) => {
                let after = p
                    .header("Retry-After")
                    .and_then(|v| retry::parse_retry_after(v, now));
                Err(retry::error_from_response(
                    mailbox,
                    &format!("message {id}"),
                    p.status,
                    after,
                    &p.body,
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_answer_with_a_missing_part_fails_only_that_call() {
        let ct = "multipart/mixed; boundary=b";
        let part = |n: usize, status: &str, body: &str| {
            format!(
                "--b\r\nContent-Type: application/http\r\nContent-ID: <response-item-{n}>\r\n\r\n\
                 HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\r\n{body}\r\n"
            )
        };
        // Item 2 is absent, item 3 is a 404, and the parts come out of order.
        let body = format!(
            "{}{}{}--b--\r\n",
            part(4, "200 OK", r#"{"id":"m4","threadId":"t"}"#),
            part(
                1,
                "200 OK",
                r#"{"id":"m1","threadId":"t","historyId":"12"}"#
            ),
            part(
                3,
                "404 Not Found",
                r#"{"error":{"code":404,"message":"Not Found","errors":[{"reason":"notFound"}]}}"#
            ),
        );
        let parts = batch_codec::decode(ct, body.as_bytes()).unwrap();
        let ids = ["m1", "m2", "m3", "m4"];
        let out = match_parts(
            "a@fund.test",
            &ids,
            parts,
            std::time::SystemTime::UNIX_EPOCH,
        );
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].as_ref().unwrap().id, "m1");
        let missing = out[1].as_ref().unwrap_err();
        assert!(
            matches!(missing, GmailError::Decode(m) if m.contains("response-item-2") && m.contains("m2")),
            "{missing}"
        );
        assert!(out[2].as_ref().unwrap_err().is_not_found());
        assert_eq!(out[3].as_ref().unwrap().id, "m4");
    }

    #[test]
    fn a_non_numeric_history_id_in_a_part_is_a_decode_error_for_that_call() {
        let part = InnerResponse {
            item: 1,
            status: 200,
            headers: vec![],
            body: br#"{"id":"m1","historyId":"12abc"}"#.to_vec(),
        };
        let out = match_parts(
            "a@b",
            &["m1"],
            vec![part],
            std::time::SystemTime::UNIX_EPOCH,
        );
        let err = out[0].as_ref().unwrap_err();
        assert!(err.to_string().contains("historyId"), "{err}");
    }
}
