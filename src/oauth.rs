//! OAuth mode (`CRM_GMAIL_AUTH_METHOD=oauth`): an admin's `oauth/start`
//! gets Google's consent URL with a signed, expiring (10 min), single-use
//! `state`; Google sends the browser back to `oauth/callback`, where the
//! state is checked and used up, the code exchanged at the token URI, the
//! mailbox identified (Gmail `getProfile` with the new access token) and
//! required to be in our Workspace domain, and its refresh token stored
//! encrypted (AES-256-GCM, AAD = address; see `crypto`) on the account,
//! enrolling it if new. The capture side reads refresh tokens from the
//! store at exchange time (`google::setup`), so no restart is needed.
//!
//! Talks to the token URI and Gmail over HTTP and to the store; called by
//! `http::oauth`. Tokens are never logged or returned.

pub mod state;

use chrono::Duration;

use crate::clock::SharedClock;
use crate::config::{normalize_mailbox, AuthMethod, Config, OAuthConfig};
use crate::crypto::{CryptoError, TokenCipher};
use crate::google::auth::scopes::{GMAIL_COMPOSE, GMAIL_READONLY};
use crate::google::auth::{AccessToken, OAuthClient, TokenProvider};
use crate::google::error::{AuthError, GmailError};
use crate::google::gmail::{GmailClient, GmailSettings};
use crate::store::drafts::ConnectedAccount;
use crate::store::{Store, StoreError};
use state::{StateError, StateSigner};

/// How long a consent link stays valid.
pub const STATE_TTL_MINUTES: i64 = 10;
/// What the consent asks for: capture and drafts/digest.
pub const CONSENT_SCOPES: [&str; 2] = [GMAIL_READONLY, GMAIL_COMPOSE];

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("OAuth mode is off (CRM_GMAIL_AUTH_METHOD is not oauth)")]
    NotOAuthMode,
    #[error("OAuth mode is not configured: {0} is not set")]
    NotConfigured(&'static str),
    #[error("login_hint must be an email address")]
    BadHint,
    #[error("this sign-in link is invalid, expired or already used; start again")]
    BadState(&'static str),
    #[error("Google did not grant access ({0})")]
    Denied(String),
    #[error("Google refused the authorization code; start again")]
    CodeRefused(#[source] AuthError),
    #[error("Google's token endpoint could not be reached; try again")]
    TokenEndpoint(#[source] AuthError),
    #[error(
        "Google returned no refresh token; remove the app's access in the Google \
         account's security settings and start again"
    )]
    NoRefreshToken,
    #[error("the consent did not include {0}; start again and allow it")]
    MissingScope(&'static str),
    #[error("Gmail could not tell which mailbox this is; try again")]
    Profile(#[source] GmailError),
    #[error("{0} is not in our Workspace domain")]
    WrongDomain(String),
    #[error("the refresh token could not be encrypted")]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the connection could not be completed; see the daemon's log")]
    Internal,
}

impl OAuthError {
    /// The browser's (or admin's) request was at fault, not us or Google.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            OAuthError::BadHint
                | OAuthError::BadState(_)
                | OAuthError::Denied(_)
                | OAuthError::CodeRefused(_)
                | OAuthError::NoRefreshToken
                | OAuthError::MissingScope(_)
                | OAuthError::WrongDomain(_)
        )
    }

    /// Trying again later may work (Google or the network failed).
    pub fn is_retryable(&self) -> bool {
        matches!(self, OAuthError::TokenEndpoint(_) | OAuthError::Profile(_))
    }
}

/// The consent flow for one configuration.
#[derive(Debug, Clone)]
pub struct OAuthFlow {
    store: Store,
    clock: SharedClock,
    oauth: OAuthConfig,
    client: OAuthClient,
    gmail: GmailSettings,
    domains: Vec<String>,
    signer: StateSigner,
    cipher: TokenCipher,
    http: reqwest::Client,
}

impl OAuthFlow {
    /// The flow `config` describes; an error when OAuth mode is off or
    /// incomplete.
    pub fn from_config(
        config: &Config,
        store: Store,
        clock: SharedClock,
    ) -> Result<OAuthFlow, OAuthError> {
        if config.auth_method != AuthMethod::OAuth {
            return Err(OAuthError::NotOAuthMode);
        }
        let oauth = config
            .oauth
            .clone()
            .ok_or(OAuthError::NotConfigured("CRM_GMAIL_OAUTH_CLIENT_ID"))?;
        let key = config
            .secret_key
            .as_ref()
            .ok_or(OAuthError::NotConfigured("CRM_GMAIL_SECRET_KEY_PATH"))?;
        let client = OAuthClient {
            client_id: oauth.client_id.clone(),
            client_secret: oauth.client_secret.clone(),
            token_uri: config.token_uri.clone(),
        };
        Ok(OAuthFlow {
            store,
            clock,
            client,
            oauth,
            gmail: crate::google::setup::gmail_settings(config),
            domains: config.workspace_domains.clone(),
            signer: StateSigner::new(key),
            cipher: TokenCipher::new(key),
            http: reqwest::Client::new(),
        })
    }

    /// Google's consent URL for `admin` to connect a mailbox with.
    pub async fn start(&self, admin: &str, login_hint: Option<&str>) -> Result<String, OAuthError> {
        let hint = match login_hint {
            Some(h) => Some(normalize_mailbox(h).ok_or(OAuthError::BadHint)?),
            None => None,
        };
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let expires = self.clock.now() + Duration::minutes(STATE_TTL_MINUTES);
        let state = self.signer.sign(&nonce, expires.timestamp());
        let (admin, h) = (admin.to_string(), hint.clone());
        let n = nonce.clone();
        self.store
            .run(move |s| {
                s.record_oauth_state(&n, &admin, h.as_deref(), expires.timestamp_millis())
            })
            .await?;
        let mut url = url::Url::parse(&self.oauth.auth_uri)
            .map_err(|_| OAuthError::NotConfigured("CRM_GMAIL_OAUTH_AUTH_URI"))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.oauth.client_id)
                .append_pair("redirect_uri", &self.oauth.redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("scope", &CONSENT_SCOPES.join(" "))
                .append_pair("access_type", "offline")
                .append_pair("prompt", "consent")
                .append_pair("include_granted_scopes", "true")
                .append_pair("state", &state);
            if let Some(h) = &hint {
                q.append_pair("login_hint", h);
            }
        }
        Ok(url.into())
    }

    /// Completes a consent: the state is used up whatever happens next.
    pub async fn callback(&self, code: &str, state: &str) -> Result<ConnectedAccount, OAuthError> {
        let now = self.clock.now().timestamp();
        let nonce = self.signer.verify(state, now).map_err(|e| match e {
            StateError::Expired => OAuthError::BadState("expired"),
            StateError::BadSignature => OAuthError::BadState("bad signature"),
            StateError::Malformed => OAuthError::BadState("malformed"),
        })?;
        let started = self
            .store
            .run(move |s| s.consume_oauth_state(&nonce))
            .await?
            .ok_or(OAuthError::BadState("unknown or already used"))?;
        let grant = self
            .client
            .exchange_code(&self.http, &self.clock, code, &self.oauth.redirect_uri)
            .await
            .map_err(|e| match e {
                AuthError::Unauthorized { .. } => OAuthError::CodeRefused(e),
                other => OAuthError::TokenEndpoint(other),
            })?;
        let refresh = grant.refresh_token.ok_or(OAuthError::NoRefreshToken)?;
        if let Some(granted) = &grant.scope {
            let have: Vec<&str> = granted.split_whitespace().collect();
            if let Some(missing) = CONSENT_SCOPES.iter().find(|s| !have.contains(s)) {
                return Err(OAuthError::MissingScope(missing));
            }
        }
        let email = self.identify(grant.access_token).await?;
        let domain_ok = email
            .rsplit_once('@')
            .is_some_and(|(_, d)| self.domains.iter().any(|ours| ours == d));
        if !domain_ok {
            return Err(OAuthError::WrongDomain(email));
        }
        let blob = self.cipher.encrypt_token(&email, &refresh)?;
        let actor = started.created_by;
        let connected = self
            .store
            .run(move |s| s.connect_oauth_account(&email, &blob, &actor))
            .await?;
        tracing::info!(mailbox = %connected.email, created = connected.created, "mailbox connected by OAuth");
        Ok(connected)
    }

    /// The address of the mailbox `token` belongs to (`getProfile` as `me`).
    async fn identify(&self, token: AccessToken) -> Result<String, OAuthError> {
        let provider =
            TokenProvider::oauth(self.client.clone(), self.http.clone(), self.clock.clone());
        provider.seed("me", &[GMAIL_READONLY], token).await;
        let gmail = GmailClient::new(self.gmail.clone(), provider, self.http.clone());
        let profile = gmail.get_profile("me").await.map_err(OAuthError::Profile)?;
        normalize_mailbox(&profile.email_address)
            .ok_or_else(|| OAuthError::WrongDomain(profile.email_address.clone()))
    }
}
