//! The daemon assembled (`serve`, and `demo` later): store → capture engine
//! → capture worker (sweep, push, watch) → HTTP state. When the integration
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
        let mut worker = None;
        let capture = if config.enabled {
            let capture = Capture::from_config(&config, store.clone(), clock.clone())?;
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
                metrics: crate::metrics::Metrics::default(),
                capture,
            },
            worker,
        })
    }

    /// Starts the capture worker (if enabled) until `shutdown`.
    pub fn spawn_worker(
        &mut self,
        shutdown: CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.worker.take().map(|w| tokio::spawn(w.run(shutdown)))
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
