//! The full fetch of matched email: bodies from `format=full`, then each
//! attachment part downloaded (bounded concurrency across the round),
//! hashed and stored once per SHA-256 on disk. Attachments past the size
//! cap are recorded `too_large` and never downloaded; one Gmail refuses
//! for good is recorded `failed`. The queue item goes only when every part
//! has its row, so a crash or a transient failure refetches the message
//! and downloads just what is still missing. Files are written without
//! per-file fsyncs and made durable by one `syncfs` before their rows are
//! saved (two fsyncs per attachment were the full path's bottleneck).

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use tokio::sync::Semaphore;

use super::fetch::visible;
use super::{Capture, CaptureError, Progress};
use crate::google::types::{decode_base64url, Message};
use crate::google::GmailError;
use crate::parse::{self, AttachmentRef};
use crate::store::{
    Account, AttachmentRow, AttachmentStatus, BodyRecord, FetchKind, QueueItem, RunCounts,
};

pub(super) enum Fetched {
    Done,
    Retry(CaptureError),
    /// Bodies and attachment rows ready to save; `wrote` = files were put
    /// without fsync and need the round's one flush first.
    Body(Box<BodyRecord>, bool),
}

impl Capture {
    /// One round of full gets; returns how many items it handled.
    pub(crate) async fn full_round(
        &self,
        account: &Account,
        counts: &mut RunCounts,
    ) -> Result<usize, CaptureError> {
        let chunk = self.inner.settings.full_chunk;
        let fetched = self.fetch_due(account, FetchKind::Full, chunk).await?;
        if fetched.is_empty() {
            return Ok(0);
        }
        let (items, results): (Vec<QueueItem>, Vec<_>) = fetched.into_iter().unzip();
        let permits = Arc::new(Semaphore::new(self.inner.settings.attach_concurrency));
        let mut work = Vec::new();
        for (item, result) in items.iter().zip(results) {
            match result {
                Ok(msg) => work.push(self.store_full(account, item, msg, permits.clone())),
                Err(e) => self.fetch_failed(account, item, e, counts).await?,
            }
        }
        let mut bodies = Vec::new();
        for (item, outcome) in items.iter().zip(join_all(work).await) {
            match outcome {
                Ok(Fetched::Done) => counts.fetched += 1,
                Ok(Fetched::Body(body, wrote)) => {
                    counts.fetched += 1;
                    bodies.push((*body, wrote));
                }
                Ok(Fetched::Retry(CaptureError::Gmail(e))) => {
                    self.fetch_failed(account, item, e, counts).await?
                }
                Ok(Fetched::Retry(other)) | Err(other) => return Err(other),
            }
        }
        self.save_bodies(account, bodies).await?;
        Ok(items.len())
    }

    /// Saves a round's bodies (each with the removal of its `full` item),
    /// after one flush makes the files they name durable.
    pub(super) async fn save_bodies(
        &self,
        account: &Account,
        bodies: Vec<(BodyRecord, bool)>,
    ) -> Result<(), CaptureError> {
        if bodies.iter().any(|(_, wrote)| *wrote) {
            self.inner.files.sync_deferred().await?;
        }
        let (aid, n) = (account.id, bodies.len() as u64);
        self.db(move |s| {
            for (body, _) in &bodies {
                s.save_body(aid, body)?;
            }
            Ok(())
        })
        .await?;
        Progress::add(&self.inner.progress.bodies, n);
        Ok(())
    }

    pub(super) async fn store_full(
        &self,
        account: &Account,
        item: &QueueItem,
        msg: Message,
        permits: Arc<Semaphore>,
    ) -> Result<Fetched, CaptureError> {
        let (aid, gid) = (account.id, item.gmail_message_id.clone());
        if !visible(&msg.label_ids) {
            let labels = msg.label_ids.clone();
            self.db(move |s| s.skip_fetched(aid, &gid, Some(&labels)))
                .await?;
            return Ok(Fetched::Done);
        }
        let known = self.db(move |s| s.sighting_email(aid, &gid)).await?;
        let Some((email_id, has_body)) = known else {
            let it = item.clone();
            self.db(move |s| s.drop_fetch(&it)).await?;
            return Ok(Fetched::Done);
        };
        if has_body {
            let it = item.clone();
            self.db(move |s| s.drop_fetch(&it)).await?;
            return Ok(Fetched::Done);
        }
        let parsed = match parse::parse_message(&msg) {
            Ok(p) => p,
            Err(e) => {
                let (it, why) = (item.clone(), e.to_string());
                self.db(move |s| s.fail_fetch(&it, &why)).await?;
                return Ok(Fetched::Done);
            }
        };
        let stored = self.db(move |s| s.stored_attachments(email_id)).await?;
        let mut rows = Vec::with_capacity(parsed.attachments.len());
        for a in &parsed.attachments {
            match self
                .attachment(account, &parsed.gmail_id, a, &stored, &permits)
                .await
            {
                Ok(row) => rows.push(row),
                Err(e) if e.is_retryable() => return Ok(Fetched::Retry(e)),
                Err(e) => return Err(e),
            }
        }
        // Files were put without their own fsyncs; the caller flushes once
        // for the whole round before any row names them.
        let wrote = rows
            .iter()
            .any(|r| r.sha256.is_some() && !stored.contains_key(&r.part_id));
        let body = BodyRecord {
            gmail_message_id: parsed.gmail_id.clone(),
            text: parsed.text,
            html: parsed.html,
            attachments: rows,
        };
        Ok(Fetched::Body(Box::new(body), wrote))
    }

    /// One attachment part's row, downloading and storing it if needed.
    async fn attachment(
        &self,
        account: &Account,
        gmail_id: &str,
        a: &AttachmentRef,
        stored: &HashMap<String, String>,
        permits: &Semaphore,
    ) -> Result<AttachmentRow, CaptureError> {
        let mut row = AttachmentRow {
            part_id: a.part_id.clone(),
            filename: a.filename.clone(),
            mime_type: a.mime_type.clone(),
            size: a.size,
            sha256: None,
            status: AttachmentStatus::Stored,
            error: None,
            content_id: a.content_id.clone(),
        };
        let cap = self.inner.settings.max_attachment_bytes;
        if let Some(sha) = stored.get(&a.part_id) {
            row.sha256 = Some(sha.clone());
            return Ok(row);
        }
        if a.size > cap {
            row.status = AttachmentStatus::TooLarge;
            return Ok(row);
        }
        let _permit = permits
            .acquire()
            .await
            .map_err(|e| CaptureError::Setup(e.to_string()))?;
        let bytes = match (&a.data, &a.attachment_id) {
            (Some(d), _) => d.clone(),
            (None, Some(att)) => match self.download(account, gmail_id, att).await {
                Ok(b) => b,
                Err(e) if e.is_retryable() || e.refused_grant().is_some() => return Err(e),
                Err(e) => {
                    row.status = AttachmentStatus::Failed;
                    row.error = Some(e.to_string());
                    return Ok(row);
                }
            },
            (None, None) => Vec::new(),
        };
        match self.inner.files.put_deferred(&bytes, cap).await {
            Ok(f) => {
                row.size = f.size;
                row.sha256 = Some(f.sha256);
            }
            Err(e) if e.is_too_large() => row.status = AttachmentStatus::TooLarge,
            Err(e) => return Err(e.into()),
        }
        Ok(row)
    }

    async fn download(
        &self,
        account: &Account,
        gmail_id: &str,
        att: &str,
    ) -> Result<Vec<u8>, CaptureError> {
        let body = self
            .inner
            .gmail
            .get_attachment(&account.email, gmail_id, att)
            .await?;
        let data = body.data.unwrap_or_default();
        decode_base64url(&data)
            .map_err(|e| CaptureError::Gmail(GmailError::Decode(format!("attachment data: {e}"))))
    }
}
