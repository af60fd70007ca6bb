//! AES-256-GCM for OAuth refresh tokens at rest (SPEC §5, issue 2 item 4).
//! The store keeps only the blobs this makes; the key comes from
//! `CRM_GMAIL_SECRET_KEY_PATH` via [`crate::config::Config::secret_key`].
//!
//! Blob layout: `nonce (12 bytes) || ciphertext || tag (16 bytes)`. A fresh
//! random nonce per encryption; the mailbox address (lowercased) is bound in
//! as associated data, so a blob copied onto another mailbox's row does not
//! decrypt.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;

use crate::secret::Secret;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Versioned so a future format change can tell old blobs apart.
const AAD_PREFIX: &str = "email-sidecar/refresh-token/v1:";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the encryption key must be 32 bytes of standard base64")]
    BadKey,
    #[error("encrypted blob is truncated ({len} bytes; at least {min} needed)")]
    Truncated { len: usize, min: usize },
    #[error(
        "cannot decrypt the token for {mailbox}: wrong key, or the blob belongs \
         to another mailbox or was altered"
    )]
    Undecryptable { mailbox: String },
    #[error("decrypted token for {mailbox} is not UTF-8")]
    NotUtf8 { mailbox: String },
    #[error("encryption failed")]
    EncryptFailed,
}

impl CryptoError {
    /// All of these need an operator (new key, re-consent); none is retryable.
    pub fn is_permanent(&self) -> bool {
        true
    }
}

/// Encrypts and decrypts refresh tokens. `Debug` never shows the key.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(***)")
    }
}

impl TokenCipher {
    pub fn new(key: &Secret<[u8; 32]>) -> Self {
        let key = Key::<Aes256Gcm>::from_slice(key.expose());
        Self {
            cipher: Aes256Gcm::new(key),
        }
    }

    /// From the base64 text of a key file (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| CryptoError::BadKey)?;
        let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| CryptoError::BadKey)?;
        Ok(Self::new(&Secret::new(key)))
    }

    /// A new random key, base64-encoded (for tests and key rotation).
    pub fn generate_key_base64() -> Secret<String> {
        let key = Aes256Gcm::generate_key(&mut OsRng);
        Secret::new(base64::engine::general_purpose::STANDARD.encode(key))
    }

    /// Encrypts `plaintext` for `mailbox` with a fresh random nonce.
    pub fn encrypt(&self, mailbox: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = aad(mailbox);
        let payload = Payload {
            msg: plaintext,
            aad: aad.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| CryptoError::EncryptFailed)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    /// Decrypts a blob made by [`TokenCipher::encrypt`] for the same mailbox.
    pub fn decrypt(&self, mailbox: &str, blob: &[u8]) -> Result<Secret<Vec<u8>>, CryptoError> {
        let min = NONCE_LEN + TAG_LEN;
        if blob.len() < min {
            return Err(CryptoError::Truncated {
                len: blob.len(),
                min,
            });
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let aad = aad(mailbox);
        let payload = Payload {
            msg: sealed,
            aad: aad.as_bytes(),
        };
        self.cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map(Secret::new)
            .map_err(|_| CryptoError::Undecryptable {
                mailbox: mailbox.to_string(),
            })
    }

    /// Encrypts a refresh token (a string) for `mailbox`.
    pub fn encrypt_token(
        &self,
        mailbox: &str,
        token: &Secret<String>,
    ) -> Result<Vec<u8>, CryptoError> {
        self.encrypt(mailbox, token.expose().as_bytes())
    }

    /// Decrypts a refresh token stored for `mailbox`.
    pub fn decrypt_token(&self, mailbox: &str, blob: &[u8]) -> Result<Secret<String>, CryptoError> {
        let bytes = self.decrypt(mailbox, blob)?;
        String::from_utf8(bytes.expose().clone())
            .map(Secret::new)
            .map_err(|_| CryptoError::NotUtf8 {
                mailbox: mailbox.to_string(),
            })
    }
}

fn aad(mailbox: &str) -> String {
    format!("{AAD_PREFIX}{}", mailbox.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> TokenCipher {
        TokenCipher::from_base64(TokenCipher::generate_key_base64().expose()).unwrap()
    }

    #[test]
    fn a_token_round_trips_and_each_encryption_uses_a_fresh_nonce() {
        let c = cipher();
        let token = Secret::new("1//refresh-token-value".to_string());
        let a = c.encrypt_token("Alice@Fund.test", &token).unwrap();
        let b = c.encrypt_token("alice@fund.test", &token).unwrap();
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
        let back = c.decrypt_token("alice@fund.test", &a).unwrap();
        assert_eq!(back.expose(), "1//refresh-token-value");
    }

    #[test]
    fn a_blob_moved_to_another_mailbox_does_not_decrypt() {
        let c = cipher();
        let blob = c.encrypt("alice@fund.test", b"tok").unwrap();
        let err = c.decrypt("bob@fund.test", &blob).unwrap_err();
        assert_eq!(
            err,
            CryptoError::Undecryptable {
                mailbox: "bob@fund.test".into()
            }
        );
    }

    #[test]
    fn a_wrong_key_and_a_truncated_blob_are_clear_errors() {
        let blob = cipher().encrypt("a@fund.test", b"tok").unwrap();
        let err = cipher().decrypt("a@fund.test", &blob).unwrap_err();
        assert!(err.to_string().contains("wrong key"), "{err}");
        let err = cipher().decrypt("a@fund.test", &blob[..20]).unwrap_err();
        assert_eq!(err, CryptoError::Truncated { len: 20, min: 28 });
    }

    #[test]
    fn a_key_that_is_not_32_bytes_is_refused() {
        assert_eq!(
            TokenCipher::from_base64("c2hvcnQ=").unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(
            TokenCipher::from_base64("not base64!").unwrap_err(),
            CryptoError::BadKey
        );
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", cipher()), "TokenCipher(***)");
    }
}
