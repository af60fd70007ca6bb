//! The note worker: while an LLM endpoint is configured, offers each
//! pending proposal's deterministic note to it once and keeps the draft if
//! the proposal is still pending. A failure (timeout, HTTP error, garbage,
//! empty or over-long text) keeps the deterministic note and is recorded
//! on the proposal, so it is never retried in a loop. Reads the LLM
//! settings from [`LiveConfig`] each round (it runs whether or not an
//! endpoint is configured, so a SIGHUP can add one); talks to the store
//! and the endpoint only.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::llm::LlmClient;
use crate::config::LiveConfig;
use crate::events::Event;
use crate::store::{Store, StoreError};

/// Pause between rounds when there is nothing (more) to do.
const TICK: Duration = Duration::from_secs(10);
/// Proposals taken per round.
const BATCH: u32 = 20;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Proposals offered to the LLM.
    pub attempted: usize,
    /// Notes replaced by the LLM's draft.
    pub replaced: usize,
    /// Attempts that failed (deterministic note kept).
    pub failed: usize,
}

pub struct NoteWorker {
    store: Store,
    live: LiveConfig,
    http: reqwest::Client,
    timeout: Option<Duration>,
}

impl NoteWorker {
    pub fn new(store: Store, live: LiveConfig) -> NoteWorker {
        NoteWorker {
            store,
            live,
            http: reqwest::Client::new(),
            timeout: None,
        }
    }

    /// Overrides the configured per-call timeout (tests use a short one).
    pub fn with_timeout(mut self, timeout: Duration) -> NoteWorker {
        self.timeout = Some(timeout);
        self
    }

    /// One round: up to a batch of waiting proposals, one call each.
    pub async fn run_once(&self) -> Result<Outcome, StoreError> {
        let config = self.live.current();
        let Some(llm) = config.llm.as_ref() else {
            return Ok(Outcome::default());
        };
        let mut client = LlmClient::new(self.http.clone(), llm);
        if let Some(t) = self.timeout {
            client = client.with_timeout(t);
        }
        let jobs = self.store.run(|s| s.note_jobs(BATCH)).await?;
        let mut out = Outcome::default();
        for job in jobs {
            out.attempted += 1;
            let result = client
                .complete(super::SYSTEM_PROMPT, &super::prompt(&job))
                .await;
            let id = job.proposal_id;
            let replaced = match result {
                Ok(text) => {
                    self.store
                        .run(move |s| s.record_note_attempt(id, Ok(&text)))
                        .await?
                }
                Err(e) => {
                    tracing::warn!(proposal = id, error = %e, retryable = e.is_retryable(),
                        "LLM note failed; keeping the deterministic note");
                    out.failed += 1;
                    let why = e.to_string();
                    self.store
                        .run(move |s| s.record_note_attempt(id, Err(&why)))
                        .await?
                }
            };
            out.replaced += usize::from(replaced);
        }
        Ok(out)
    }

    /// Rounds until `shutdown`; a full batch goes straight on to the next,
    /// and a new proposal wakes the worker before its tick.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut events = self.store.events().subscribe();
        let mut closed = false;
        loop {
            // Whatever woke us is covered by this round.
            while events.try_recv().is_ok() {}
            // A round stops mid-call on shutdown: nothing is half-written
            // (each attempt is recorded in one statement, or not at all).
            let round = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = self.run_once() => r,
            };
            let pause = match round {
                Ok(o) if o.attempted == BATCH as usize => Duration::ZERO,
                Ok(_) => TICK,
                Err(e) => {
                    tracing::warn!(error = %e, "note worker round failed");
                    TICK
                }
            };
            let sleep = tokio::time::sleep(pause);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = &mut sleep => break,
                    e = events.recv(), if !closed => match e {
                        Ok(Event::ProposalCreated { .. }) | Err(RecvError::Lagged(_)) => break,
                        Ok(_) => {}
                        // (The bus lives as long as the store we hold.)
                        Err(RecvError::Closed) => closed = true,
                    },
                }
            }
        }
    }
}

/// The worker, always: the LLM settings are live (a SIGHUP may add or
/// remove the endpoint), and a round without one reads the config and
/// returns at once.
pub fn spawn(
    store: Store,
    live: LiveConfig,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(NoteWorker::new(store, live).run(shutdown))
}
