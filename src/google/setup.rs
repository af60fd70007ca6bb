//! Builds the Google side from the configuration: the token provider for
//! the configured auth method (DWD key, or OAuth refresh tokens decrypted
//! from the store) and the Gmail client with the configured quota, retry
//! and URLs. Used by `check`, the capture engine and the daemon.

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::config::{AuthMethod, Config};
use crate::crypto::TokenCipher;
use crate::google::auth::{OAuthClient, ServiceAccountKey, TokenProvider};
use crate::google::gmail::{GmailClient, GmailSettings};
use crate::google::token::RefreshTokenSource;
use crate::secret::Secret;
use crate::store::{Account, Store};

/// The Gmail client settings the configuration asks for.
pub fn gmail_settings(config: &Config) -> GmailSettings {
    GmailSettings {
        api_base: config.api_base.clone(),
        units_per_sec: config.rate_units_sec,
        max_in_flight: config.max_in_flight,
        retry_max: config.retry_max,
        ..GmailSettings::default()
    }
}

/// A Gmail client for every enrolled mailbox, and the mailboxes already
/// known to be broken (see [`token_provider`]).
pub fn gmail_client(
    config: &Config,
    store: &Store,
    clock: SharedClock,
) -> Result<(GmailClient, HashMap<String, String>), String> {
    let accounts = store.list_accounts().map_err(|e| e.to_string())?;
    let (tokens, broken) = token_provider(config, store, &accounts, clock)?;
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    Ok((
        GmailClient::new(gmail_settings(config), tokens, http),
        broken,
    ))
}

/// The token provider for the configured auth method, and the mailboxes
/// already known to be broken (an OAuth refresh token that will not
/// decrypt), with why. A mailbox without a refresh token fails at mint time
/// with an error that names it.
pub fn token_provider(
    config: &Config,
    store: &Store,
    accounts: &[Account],
    clock: SharedClock,
) -> Result<(TokenProvider, HashMap<String, String>), String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    match config.auth_method {
        AuthMethod::Dwd => {
            let json = config
                .sa_key_json
                .as_ref()
                .ok_or("CRM_GMAIL_SA_KEY_PATH is not set: no service-account key to sign with")?;
            let key = ServiceAccountKey::from_json(json.expose()).map_err(|e| e.to_string())?;
            let provider =
                TokenProvider::service_account(key, config.token_uri.clone(), http, clock);
            Ok((provider, HashMap::new()))
        }
        AuthMethod::OAuth => {
            let oauth = config
                .oauth
                .as_ref()
                .ok_or("OAuth mode without CRM_GMAIL_OAUTH_*")?;
            let key = config
                .secret_key
                .as_ref()
                .ok_or("CRM_GMAIL_SECRET_KEY_PATH is not set: cannot decrypt refresh tokens")?;
            let client = OAuthClient {
                client_id: oauth.client_id.clone(),
                client_secret: oauth.client_secret.clone(),
                token_uri: config.token_uri.clone(),
            };
            let cipher = TokenCipher::new(key);
            let provider = TokenProvider::oauth(client, http, clock)
                .with_refresh_source(refresh_source(store.clone(), cipher.clone()));
            // A blob that will not decrypt fails only that mailbox's row.
            let mut broken = HashMap::new();
            for account in accounts {
                let blob = match store.refresh_token(account.id) {
                    Ok(Some(blob)) => blob,
                    Ok(None) => continue,
                    Err(e) => {
                        broken.insert(account.email.clone(), e.to_string());
                        continue;
                    }
                };
                match cipher.decrypt_token(&account.email, &blob) {
                    Ok(token) => provider.set_refresh_token(&account.email, token),
                    Err(e) => {
                        let why = format!("stored refresh token unusable: {e}");
                        broken.insert(account.email.clone(), why);
                    }
                }
            }
            Ok((provider, broken))
        }
    }
}

/// Refresh tokens read from the store at exchange time, so a mailbox
/// connected (or re-consented) through `oauth/callback` while the daemon
/// runs is used at once. A token that will not decrypt reads as absent.
fn refresh_source(store: Store, cipher: TokenCipher) -> RefreshTokenSource {
    std::sync::Arc::new(move |mailbox: String| {
        let (store, cipher) = (store.clone(), cipher.clone());
        Box::pin(async move {
            let blob = store
                .run(move |s| {
                    let Some(account) = s.account_by_email(&mailbox)? else {
                        return Ok(None);
                    };
                    Ok(s.refresh_token(account.id)?.map(|b| (account.email, b)))
                })
                .await;
            let (email, blob) = match blob {
                Ok(Some(found)) => found,
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a stored refresh token");
                    return None;
                }
            };
            match cipher.decrypt_token(&email, &blob) {
                Ok(token) => Some::<Secret<String>>(token),
                Err(e) => {
                    tracing::warn!(mailbox = %email, error = %e, "stored refresh token unusable");
                    None
                }
            }
        })
    })
}
