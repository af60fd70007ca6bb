//! The OAuth consent `state`: `<nonce>.<expiry>.<mac>`, the MAC being
//! HMAC-SHA256 (RFC 2104) under a key derived from the AES secret key with
//! its own label, so the state key is never the token key. The signature
//! and expiry are checked here; single use is the store's (`oauth_states`).

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// Distinct from every other use of the secret key.
const KEY_LABEL: &[u8] = b"email-sidecar/oauth-state/v1";
const BLOCK: usize = 64;

/// Why a state was refused (for the log; the browser sees one message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("state is malformed")]
    Malformed,
    #[error("state signature does not verify")]
    BadSignature,
    #[error("state has expired")]
    Expired,
}

/// Signs and verifies states. `Debug` never shows the key.
#[derive(Clone)]
pub struct StateSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for StateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSigner(***)")
    }
}

impl StateSigner {
    pub fn new(secret_key: &Secret<[u8; 32]>) -> StateSigner {
        StateSigner {
            key: hmac_sha256(secret_key.expose(), KEY_LABEL),
        }
    }

    /// The state for `nonce` (URL-safe characters only) expiring at
    /// `expires_at` (Unix seconds).
    pub fn sign(&self, nonce: &str, expires_at: i64) -> String {
        let payload = format!("{nonce}.{expires_at}");
        let mac = hmac_sha256(&self.key, payload.as_bytes());
        let mac = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac);
        format!("{payload}.{mac}")
    }

    /// The nonce of a state signed here and not expired at `now` (Unix s).
    pub fn verify(&self, state: &str, now: i64) -> Result<String, StateError> {
        let mut parts = state.split('.');
        let (Some(nonce), Some(exp), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StateError::Malformed);
        };
        let given = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| StateError::Malformed)?;
        let want = hmac_sha256(&self.key, format!("{nonce}.{exp}").as_bytes());
        if !bool::from(given.as_slice().ct_eq(&want)) {
            return Err(StateError::BadSignature);
        }
        let exp: i64 = exp.parse().map_err(|_| StateError::Malformed)?;
        if now >= exp {
            return Err(StateError::Expired);
        }
        Ok(nonce.to_string())
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_rfc_4231_vectors() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, msg, want) in cases {
            assert_eq!(hex::encode(hmac_sha256(key, msg)), want);
        }
    }

    #[test]
    fn a_state_verifies_until_it_expires_and_not_after_any_change() {
        let signer = StateSigner::new(&Secret::new([7u8; 32]));
        let state = signer.sign("abcdef0123456789", 1_000);
        assert_eq!(signer.verify(&state, 999).unwrap(), "abcdef0123456789");
        assert_eq!(signer.verify(&state, 1_000), Err(StateError::Expired));
        let later = state.replace(".1000.", ".9999.");
        assert_eq!(signer.verify(&later, 999), Err(StateError::BadSignature));
        let other = StateSigner::new(&Secret::new([8u8; 32]));
        assert_eq!(other.verify(&state, 999), Err(StateError::BadSignature));
        for bad in ["", "a.b", "a.b.c.d", "x.1.!!"] {
            assert_eq!(signer.verify(bad, 0), Err(StateError::Malformed), "{bad}");
        }
    }
}
