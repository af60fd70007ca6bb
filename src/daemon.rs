//! The daemon assembled (`serve`, and `demo` later): store → capture engine
//! → capture worker (sweep, push, watch) and digest scheduler → HTTP state. When the integration
//! is disabled the HTTP side still serves health and status and the worker
//! is not started (SPEC §3: "off = scheduler idle").

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::capture::push::{PushLimiter, PushVerifier};
use crate::capture::worker::{Worker, WorkerSettings};
use crate::capture::{Capture, CaptureError};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::http::{AppState, CaptureState};
use crate::store::Store;

/// Push notices per mailbox per second (Gmail sends at most about one) and
/// overall, with bursts; the sweep catches up with anything refused.
const PUSH_PER_MAILBOX: (f64, u32) = (2.0, 20);
const PUSH_GLOBAL: (f64, u32) = (200.0, 1000);

pub struct Daemon {
    pub state: AppState,
    worker: Option<Worker>,
}

impl Daemon {
    /// Wires everything; starts nothing yet.
    pub fn build(config: Config, store: Store, clock: SharedClock) -> Result<Daemon, CaptureError> {
        let config = Arc::new(config);
        let metrics = crate::metrics::Metrics::new();
        // The env's digest policy seeds the database once; the DB wins after.
        if let Err(e) = store.seed_digest_policy(&config.digest) {
            tracing::warn!(error = %e, "cannot seed the digest policy");
        }
        let mut worker = None;
        let capture = if config.enabled {
            let capture = Capture::from_config(&config, store.clone(), clock.clone())?;
            capture.gmail().count_into(metrics.clone());
            let (w, handle) = Worker::new(capture.clone(), worker_settings(&config));
            worker = Some(w);
            let verifier = config.pubsub.audience.as_ref().map(|aud| {
                PushVerifier::new(
                    reqwest::Client::new(),
                    config.pubsub.jwks_uri.clone(),
                    aud.clone(),
                    clock.clone(),
                )
            });
            Some(Arc::new(CaptureState {
                capture,
                worker: handle,
                verifier,
                limiter: PushLimiter::new(
                    PUSH_PER_MAILBOX.0,
                    PUSH_PER_MAILBOX.1,
                    PUSH_GLOBAL.0,
                    PUSH_GLOBAL.1,
                ),
            }))
        } else {
            None
        };
        Ok(Daemon {
            state: AppState {
                store,
                live: crate::config::LiveConfig::new(config.clone()),
                config,
                clock,
                metrics,
                capture,
            },
            worker,
        })
    }

    /// Starts, when the integration is enabled, the capture worker, the
    /// digest scheduler and the LLM note worker (idle without an endpoint), until
    /// `shutdown`; the handle finishes when all of them have.
    pub fn spawn_worker(
        &mut self,
        shutdown: CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let worker = self.worker.take()?;
        let s = &self.state;
        let mut tasks = vec![tokio::spawn(worker.run(shutdown.clone()))];
        let digests = crate::digest::Digests::new(s.store.clone(), s.live.clone(), s.clock.clone())
            .with_metrics(s.metrics.clone());
        tasks.push(tokio::spawn(crate::digest::schedule::run_loop(
            digests,
            shutdown.clone(),
        )));
        // Always: an LLM endpoint added by a SIGHUP is used from the next round.
        tasks.push(crate::proposals::worker::spawn(
            s.store.clone(),
            s.live.clone(),
            shutdown,
        ));
        Some(tokio::spawn(async move {
            for t in tasks {
                let _ = t.await;
            }
        }))
    }
}

fn worker_settings(config: &Config) -> WorkerSettings {
    WorkerSettings {
        sweep_interval: config.sync_interval(),
        debounce: Duration::from_millis(300),
        pubsub_topic: config.pubsub.topic.clone(),
        // Leaves SIGTERM → exit well inside systemd's 10 s (serve_cmd::STOP_BUDGET).
        drain_timeout: Duration::from_secs(6),
    }
}
