//! The daemon's capture loop: a periodic sweep of every active mailbox
//! (`CRM_GMAIL_SYNC_INTERVAL_MIN`, the safety net), push notices debounced
//! into one incremental sync per mailbox (never two at once: a notice for a
//! mailbox being synced waits and runs once after it), `watch` registered
//! for mailboxes without one and renewed daily, and commands (sync now,
//! rematch, renew watches) from the HTTP side. The loop `select!`s on its
//! ticks, the command channel and the shutdown token; each pass of work is
//! a function tests call directly.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Capture, CaptureError, SyncMode, SyncReport};
use crate::store::AccountStatus;

/// A watch is renewed when it would lapse within this long (Gmail's last
/// 7 days; renewing a day in keeps one missed renewal harmless).
const WATCH_RENEW_BEFORE_MS: i64 = 6 * 86_400_000;

/// Work the HTTP side asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A verified push notice for a mailbox (historyId as Gmail sent it).
    Push {
        account_id: i64,
        history_id: u64,
    },
    SyncNow {
        account_id: Option<i64>,
        mode: SyncMode,
    },
    Rematch,
    RenewWatches,
    /// A reloaded `sync_interval_min` (SIGHUP): the next sweep is one new
    /// interval from now.
    SetSweepInterval(Duration),
}

/// Sends commands to a running worker; cheap to clone.
#[derive(Debug, Clone)]
pub struct WorkerHandle {
    tx: mpsc::Sender<Command>,
}

impl WorkerHandle {
    /// Queues a command; false when the worker has stopped or is swamped
    /// (the periodic sweep still catches up).
    pub fn send(&self, cmd: Command) -> bool {
        self.tx.try_send(cmd).is_ok()
    }
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub sweep_interval: Duration,
    /// Push notices for one mailbox within this window make one sync.
    pub debounce: Duration,
    /// `projects/P/topics/T`; `None` = no watch, sweep only.
    pub pubsub_topic: Option<String>,
    /// How long in-flight syncs get at shutdown before they are dropped
    /// (safe: every step is transactional and the queue is durable).
    pub drain_timeout: Duration,
}

pub struct Worker {
    capture: Capture,
    settings: WorkerSettings,
    rx: mpsc::Receiver<Command>,
    /// Mailboxes with a push waiting, and when it may run.
    due: HashMap<i64, Instant>,
    running: HashSet<i64>,
    /// Syncs asked for while one of that mailbox ran (run-now, a directory
    /// push's body fetches): started when it ends, never dropped.
    again: HashMap<i64, SyncMode>,
    tasks: JoinSet<(i64, Result<SyncReport, CaptureError>)>,
}

impl Worker {
    pub fn new(capture: Capture, settings: WorkerSettings) -> (Worker, WorkerHandle) {
        let (tx, rx) = mpsc::channel(1024);
        let worker = Worker {
            capture,
            settings,
            rx,
            due: HashMap::new(),
            running: HashSet::new(),
            again: HashMap::new(),
            tasks: JoinSet::new(),
        };
        (worker, WorkerHandle { tx })
    }

    /// Runs until `shutdown` is cancelled, then gives in-flight syncs
    /// `drain_timeout` to finish.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut sweep = tokio::time::interval(self.settings.sweep_interval);
        let mut watches = tokio::time::interval(Duration::from_secs(3600));
        let mut debounce =
            tokio::time::interval(self.settings.debounce.max(Duration::from_millis(10)) / 2);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = sweep.tick() => self.start_sweep(),
                _ = watches.tick() => {
                    if let Err(e) = self.renew_watches().await {
                        tracing::warn!(error = %e, "watch renewal failed");
                    }
                }
                _ = debounce.tick() => self.start_due(),
                Some(cmd) = self.rx.recv() => match cmd {
                    Command::SetSweepInterval(every) => {
                        tracing::info!(minutes = every.as_secs() / 60, "sweep interval changed");
                        self.settings.sweep_interval = every;
                        sweep = tokio::time::interval_at(Instant::now() + every, every);
                    }
                    cmd => self.handle(cmd).await,
                },
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => self.finished(done),
            }
        }
        self.drain().await;
    }

    async fn drain(&mut self) {
        // Running syncs stop at their next checkpoint (a round, a page);
        // the deadline is for a step stuck in a slow Gmail call.
        self.capture.stop_syncs();
        let deadline = tokio::time::sleep(self.settings.drain_timeout);
        tokio::pin!(deadline);
        while !self.tasks.is_empty() {
            tokio::select! {
                _ = &mut deadline => {
                    tracing::warn!(running = self.tasks.len(), "syncs still running at shutdown; stopping them (their work is checkpointed)");
                    self.tasks.abort_all();
                    // Wait for the aborted futures to be dropped, so their
                    // temp-file cleanups are queued before the process exits.
                    while self.tasks.join_next().await.is_some() {}
                    break;
                }
                Some(done) = self.tasks.join_next() => self.finished(done),
            }
        }
    }

    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Push {
                account_id,
                history_id,
            } => self.note_push(account_id, history_id).await,
            Command::SyncNow { account_id, mode } => match account_id {
                Some(id) => self.start(id, mode),
                None => self.start_all(mode),
            },
            Command::Rematch => match self.capture.rematch().await {
                Ok(r) => {
                    tracing::info!(changed = r.changed, bodies = r.full_queued, "rematch done");
                    self.start_all(SyncMode::Auto);
                }
                Err(e) => tracing::warn!(error = %e, "rematch failed"),
            },
            Command::RenewWatches => {
                if let Err(e) = self.renew_watches().await {
                    tracing::warn!(error = %e, "watch renewal failed");
                }
            }
            // Handled in `run`, which owns the sweep timer.
            Command::SetSweepInterval(_) => {}
        }
    }

    /// A notice at or behind the stored cursor is already synced; others
    /// wait out the debounce window (several notices → one sync).
    async fn note_push(&mut self, account_id: i64, history_id: u64) {
        let behind = self
            .capture
            .db(move |s| s.account(account_id))
            .await
            .ok()
            .and_then(|a| a.history_id)
            .is_some_and(|cursor| history_id <= cursor);
        if !behind {
            let at = Instant::now() + self.settings.debounce;
            self.due.entry(account_id).or_insert(at);
        }
    }

    fn start_due(&mut self) {
        let now = Instant::now();
        let ready: Vec<i64> = self
            .due
            .iter()
            .filter(|(id, at)| **at <= now && !self.running.contains(id))
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            self.due.remove(&id);
            self.start(id, SyncMode::Push);
        }
    }

    fn start_sweep(&mut self) {
        self.start_all(SyncMode::Auto);
    }

    fn start_all(&mut self, mode: SyncMode) {
        let capture = self.capture.clone();
        let accounts = match capture.store().list_accounts() {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list mailboxes for the sweep");
                return;
            }
        };
        for a in accounts
            .iter()
            .filter(|a| a.status == AccountStatus::Active)
        {
            self.start(a.id, mode);
        }
    }

    /// Starts a sync unless one of this mailbox is running: a push then
    /// waits its turn, any other request runs right after it (a full
    /// re-list wins over a plain one), so none is lost.
    fn start(&mut self, account_id: i64, mode: SyncMode) {
        if self.running.contains(&account_id) {
            if mode == SyncMode::Push {
                self.due.entry(account_id).or_insert_with(Instant::now);
            } else {
                let queued = self.again.entry(account_id).or_insert(mode);
                if mode == SyncMode::Full {
                    *queued = SyncMode::Full;
                }
            }
            return;
        }
        self.running.insert(account_id);
        let capture = self.capture.clone();
        self.tasks
            .spawn(async move { (account_id, capture.sync_account(account_id, mode).await) });
    }

    fn finished(
        &mut self,
        done: Result<(i64, Result<SyncReport, CaptureError>), tokio::task::JoinError>,
    ) {
        match done {
            Ok((id, result)) => {
                self.running.remove(&id);
                let mut relinked = false;
                match result {
                    Ok(r) => {
                        relinked = r.relinked;
                        tracing::info!(mailbox = %r.email, kind = r.kind.as_str(), status = r.status.as_str(),
                        fetched = r.counts.fetched, added = r.counts.added, "sync finished")
                    }
                    Err(e) => tracing::warn!(account_id = id, error = %e, "sync could not run"),
                }
                let again = self.again.remove(&id);
                // Shutting down: nothing new starts (the next process syncs).
                if self.capture.is_stopping() {
                    return;
                }
                if let Some(mode) = again {
                    self.start(id, mode);
                }
                // Other mailboxes may hold newly matched bodies to fetch.
                if relinked {
                    self.start_all(SyncMode::Auto);
                }
            }
            Err(e) => {
                // A panicked task: forget every running mark it could hold
                // is impossible to know, so clear all; the per-mailbox lock
                // still prevents two syncs of one mailbox.
                tracing::error!(error = %e, "sync task failed");
                self.running.clear();
            }
        }
    }

    /// Registers `watch` for active mailboxes without one or whose watch
    /// lapses within six days. Returns how many were (re)registered.
    pub async fn renew_watches(&self) -> Result<usize, CaptureError> {
        renew_watches(&self.capture, self.settings.pubsub_topic.as_deref()).await
    }
}

/// See [`Worker::renew_watches`]; also what `POST /api/email/watch` runs.
pub async fn renew_watches(capture: &Capture, topic: Option<&str>) -> Result<usize, CaptureError> {
    let Some(topic) = topic else {
        return Ok(0);
    };
    let accounts = capture.db(|s| s.list_accounts()).await?;
    let now = capture.now_ms();
    let mut renewed = 0;
    for a in accounts
        .iter()
        .filter(|a| a.status == AccountStatus::Active)
    {
        let lapses = a.watch_expiration.map_or(0, |t| t.timestamp_millis());
        if lapses - now > WATCH_RENEW_BEFORE_MS {
            continue;
        }
        match capture.gmail().watch(&a.email, topic, &[]).await {
            Ok(w) => {
                let (id, exp, hid) = (a.id, w.expiration.unwrap_or(now), w.history_id.0);
                capture.db(move |s| s.set_watch(id, exp, hid)).await?;
                renewed += 1;
            }
            Err(e) => tracing::warn!(mailbox = %a.email, error = %e, "watch registration failed"),
        }
    }
    Ok(renewed)
}
