//! The Gmail endpoints we use, as typed methods on [`GmailClient`]. Each
//! builds a [`Call`] (path, query, body, scope, quota method) and hands it
//! to the retrying engine in [`crate::google::gmail`].

use crate::google::auth::scopes::{GMAIL_COMPOSE, GMAIL_READONLY};
use crate::google::error::GmailError;
use crate::google::gmail::{Call, GmailClient};
use crate::google::quota::GmailMethod;
use crate::google::types::{
    encode_base64url, Draft, History, HistoryId, ListHistoryResponse, ListMessagesResponse,
    Message, MessagePartBody, MessageRef, Profile, WatchRequest, WatchResponse,
};
use reqwest::Method;

/// `format` of `messages.get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MessageFormat {
    Minimal,
    Metadata,
    #[default]
    Full,
    Raw,
}

impl MessageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageFormat::Minimal => "minimal",
            MessageFormat::Metadata => "metadata",
            MessageFormat::Full => "full",
            MessageFormat::Raw => "raw",
        }
    }
}

/// Filters of `messages.list`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListMessagesParams {
    pub q: Option<String>,
    /// All must match (Gmail's semantics).
    pub label_ids: Vec<String>,
    pub include_spam_trash: bool,
    /// Page size, ≤ 500 (Gmail's default is 100).
    pub max_results: Option<u32>,
}

/// Filters of `history.list`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryParams {
    pub start_history_id: HistoryId,
    /// `messageAdded`, `messageDeleted`, `labelAdded`, `labelRemoved`.
    pub history_types: Vec<String>,
    pub label_id: Option<String>,
    pub max_results: Option<u32>,
}

/// Every page of a history listing, merged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryListing {
    pub history: Vec<History>,
    /// The mailbox's historyId as of the last page: the next cursor.
    pub history_id: HistoryId,
}

fn page_token(query: &mut Vec<(&'static str, String)>, token: Option<&str>) {
    if let Some(t) = token {
        query.push(("pageToken", t.to_string()));
    }
}

impl GmailClient {
    fn read_call<'a>(
        &self,
        mailbox: &'a str,
        method: GmailMethod,
        rest: &[&str],
        query: Vec<(&'static str, String)>,
        what: String,
    ) -> Result<Call<'a>, GmailError> {
        Ok(Call {
            mailbox,
            method,
            scope: GMAIL_READONLY,
            verb: Method::GET,
            url: self.users_url(mailbox, rest)?,
            query,
            body: None,
            what,
        })
    }

    /// `users.getProfile` (1 unit): address, totals and current historyId.
    pub async fn get_profile(&self, mailbox: &str) -> Result<Profile, GmailError> {
        let call = self.read_call(
            mailbox,
            GmailMethod::GetProfile,
            &["profile"],
            vec![],
            "profile".into(),
        )?;
        self.execute(&call).await
    }

    /// One page of `users.messages.list` (5 units).
    pub async fn list_messages(
        &self,
        mailbox: &str,
        params: &ListMessagesParams,
        page: Option<&str>,
    ) -> Result<ListMessagesResponse, GmailError> {
        let mut query = Vec::new();
        if let Some(q) = &params.q {
            query.push(("q", q.clone()));
        }
        for l in &params.label_ids {
            query.push(("labelIds", l.clone()));
        }
        if params.include_spam_trash {
            query.push(("includeSpamTrash", "true".to_string()));
        }
        if let Some(n) = params.max_results {
            query.push(("maxResults", n.to_string()));
        }
        page_token(&mut query, page);
        let call = self.read_call(
            mailbox,
            GmailMethod::MessagesList,
            &["messages"],
            query,
            "messages".into(),
        )?;
        self.execute(&call).await
    }

    /// Every page of `users.messages.list`, newest first.
    pub async fn list_all_messages(
        &self,
        mailbox: &str,
        params: &ListMessagesParams,
    ) -> Result<Vec<MessageRef>, GmailError> {
        let mut all = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let resp = self.list_messages(mailbox, params, page.as_deref()).await?;
            all.extend(resp.messages);
            match resp.next_page_token {
                Some(next) if Some(&next) == page.as_ref() => {
                    return Err(GmailError::Decode(format!(
                        "messages.list repeated page token {next:?}"
                    )))
                }
                Some(next) => page = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// `users.messages.get` (5 units). A 404 is `NotFound`: the message was
    /// deleted since it was listed.
    pub async fn get_message(
        &self,
        mailbox: &str,
        id: &str,
        format: MessageFormat,
        metadata_headers: &[&str],
    ) -> Result<Message, GmailError> {
        let query = message_query(format, metadata_headers);
        let call = self.read_call(
            mailbox,
            GmailMethod::MessagesGet,
            &["messages", id],
            query,
            format!("message {id}"),
        )?;
        self.execute(&call).await
    }

    /// One page of `users.history.list` (2 units). A 404 is
    /// `HistoryExpired`: the cursor is too old, re-sync.
    pub async fn list_history(
        &self,
        mailbox: &str,
        params: &HistoryParams,
        page: Option<&str>,
    ) -> Result<ListHistoryResponse, GmailError> {
        let mut query = vec![("startHistoryId", params.start_history_id.to_string())];
        for t in &params.history_types {
            query.push(("historyTypes", t.clone()));
        }
        if let Some(l) = &params.label_id {
            query.push(("labelId", l.clone()));
        }
        if let Some(n) = params.max_results {
            query.push(("maxResults", n.to_string()));
        }
        page_token(&mut query, page);
        let call = self.read_call(
            mailbox,
            GmailMethod::HistoryList,
            &["history"],
            query,
            "history".into(),
        )?;
        self.execute(&call).await.map_err(|e| match e {
            GmailError::NotFound { mailbox, .. } => GmailError::HistoryExpired {
                mailbox,
                start: params.start_history_id,
            },
            other => other,
        })
    }

    /// Every page of `users.history.list`, merged in order.
    pub async fn list_all_history(
        &self,
        mailbox: &str,
        params: &HistoryParams,
    ) -> Result<HistoryListing, GmailError> {
        let mut listing = HistoryListing::default();
        let mut page: Option<String> = None;
        loop {
            let resp = self.list_history(mailbox, params, page.as_deref()).await?;
            listing.history.extend(resp.history);
            listing.history_id = resp.history_id;
            match resp.next_page_token {
                Some(next) if Some(&next) == page.as_ref() => {
                    return Err(GmailError::Decode(format!(
                        "history.list repeated page token {next:?}"
                    )))
                }
                Some(next) => page = Some(next),
                None => return Ok(listing),
            }
        }
    }

    /// `users.messages.attachments.get` (5 units): `{size, data}`.
    pub async fn get_attachment(
        &self,
        mailbox: &str,
        message_id: &str,
        attachment_id: &str,
    ) -> Result<MessagePartBody, GmailError> {
        let rest = ["messages", message_id, "attachments", attachment_id];
        let what = format!("attachment of message {message_id}");
        let call = self.read_call(mailbox, GmailMethod::AttachmentsGet, &rest, vec![], what)?;
        self.execute(&call).await
    }

    /// `users.drafts.create` (10 units, compose scope). Never sends.
    pub async fn create_draft(
        &self,
        mailbox: &str,
        raw: &[u8],
        thread_id: Option<&str>,
    ) -> Result<Draft, GmailError> {
        let body = serde_json::json!({ "message": raw_message(raw, thread_id) });
        self.compose_call(mailbox, GmailMethod::DraftsCreate, &["drafts"], body)
            .await
    }

    /// `users.messages.send` (100 units, compose scope). Only the digest
    /// (to active admins) uses this; drafts are for everything else.
    pub async fn send_message(
        &self,
        mailbox: &str,
        raw: &[u8],
        thread_id: Option<&str>,
    ) -> Result<Message, GmailError> {
        let body = raw_message(raw, thread_id);
        self.compose_call(
            mailbox,
            GmailMethod::MessagesSend,
            &["messages", "send"],
            body,
        )
        .await
    }

    async fn compose_call<T: serde::de::DeserializeOwned>(
        &self,
        mailbox: &str,
        method: GmailMethod,
        rest: &[&str],
        body: serde_json::Value,
    ) -> Result<T, GmailError> {
        let call = Call {
            mailbox,
            method,
            scope: GMAIL_COMPOSE,
            verb: Method::POST,
            url: self.users_url(mailbox, rest)?,
            query: vec![],
            body: Some(body),
            what: rest.join("/"),
        };
        self.execute(&call).await
    }

    /// `users.watch` (100 units): push notifications to a Pub/Sub topic.
    pub async fn watch(
        &self,
        mailbox: &str,
        topic: &str,
        label_ids: &[&str],
    ) -> Result<WatchResponse, GmailError> {
        let req = WatchRequest {
            topic_name: topic.to_string(),
            label_ids: label_ids.iter().map(|s| s.to_string()).collect(),
            label_filter_behavior: (!label_ids.is_empty()).then(|| "include".to_string()),
        };
        let call = Call {
            body: Some(
                serde_json::to_value(&req)
                    .map_err(|e| GmailError::InvalidRequest(e.to_string()))?,
            ),
            verb: Method::POST,
            ..self.read_call(
                mailbox,
                GmailMethod::Watch,
                &["watch"],
                vec![],
                "watch".into(),
            )?
        };
        self.execute(&call).await
    }

    /// `users.stop` (50 units): end push notifications.
    pub async fn stop(&self, mailbox: &str) -> Result<(), GmailError> {
        let call = Call {
            verb: Method::POST,
            ..self.read_call(mailbox, GmailMethod::Stop, &["stop"], vec![], "stop".into())?
        };
        self.execute_raw(&call).await.map(|_| ())
    }
}

pub(crate) fn message_query(
    format: MessageFormat,
    metadata_headers: &[&str],
) -> Vec<(&'static str, String)> {
    let mut query = vec![("format", format.as_str().to_string())];
    if format == MessageFormat::Metadata {
        for h in metadata_headers {
            query.push(("metadataHeaders", h.to_string()));
        }
    }
    query
}

fn raw_message(raw: &[u8], thread_id: Option<&str>) -> serde_json::Value {
    let mut m = serde_json::json!({ "raw": encode_base64url(raw) });
    if let Some(t) = thread_id {
        m["threadId"] = serde_json::Value::String(t.to_string());
    }
    m
}
