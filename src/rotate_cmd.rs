//! `email-sidecar rotate-key --new FILE`: AES key rotation for the OAuth
//! refresh tokens at rest. Every blob is opened with the configured key and
//! sealed with the new one in one transaction: either all move or none do.
//! Refused while the daemon runs (the data directory's lock): it would go
//! on with the old key and fail to decrypt what was rotated under it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use email_sidecar::config::{self, Config};
use email_sidecar::crypto::TokenCipher;
use email_sidecar::instance::Role;

pub fn run(config: &Config, new_key: &Path) -> anyhow::Result<ExitCode> {
    let Some(old) = config.secret_key.as_ref() else {
        bail!(
            "{} ({}) is not set: there is no current key to rotate from",
            config::keys::SECRET_KEY_PATH.env,
            config::keys::SECRET_KEY_PATH.toml
        );
    };
    config::check_secret_file(config::keys::SECRET_KEY_PATH, new_key)
        .context("the new key file")?;
    let text = std::fs::read_to_string(new_key)
        .with_context(|| format!("cannot read {}", new_key.display()))?;
    let new = TokenCipher::from_base64(&text)
        .with_context(|| format!("{} is not a base64 32-byte key", new_key.display()))?;
    let old = TokenCipher::new(old);
    let _lock = super::lock_data_dir(config, Role::RotateKey)?;
    let store = super::open_store(config)?;
    let recrypt = |mailbox: &str, blob: &[u8]| -> Result<Vec<u8>, String> {
        let token = old.decrypt(mailbox, blob).map_err(|e| e.to_string())?;
        new.encrypt(mailbox, token.expose())
            .map_err(|e| e.to_string())
    };
    let n = store
        .reencrypt_refresh_tokens(&recrypt)
        .context("nothing was changed")?;
    println!(
        "re-encrypted {n} refresh token(s) under {}; now point {} at it (mode 0600) and start the daemon",
        new_key.display(),
        config::keys::SECRET_KEY_PATH.env
    );
    Ok(ExitCode::SUCCESS)
}
