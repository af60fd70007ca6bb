//! The settings that may change while the daemon runs (SPEC §4: SIGHUP
//! reloads log level, intervals, digest and SMTP settings). Readers take
//! [`LiveConfig::current`] each time they act, so a reload takes effect at
//! the next action without a restart; everything else keeps the config it
//! started with.

use std::sync::Arc;

use tokio::sync::watch;

use super::Config;

/// A shared, replaceable [`Config`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    tx: Arc<watch::Sender<Arc<Config>>>,
}

impl LiveConfig {
    pub fn new(config: Arc<Config>) -> LiveConfig {
        let (tx, _) = watch::channel(config);
        LiveConfig { tx: Arc::new(tx) }
    }

    /// The config as of now.
    pub fn current(&self) -> Arc<Config> {
        self.tx.borrow().clone()
    }

    /// Installs a reloaded config; subscribers wake.
    pub fn replace(&self, config: Config) {
        self.tx.send_replace(Arc::new(config));
    }

    /// Wakes on every [`LiveConfig::replace`].
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.tx.subscribe()
    }
}
