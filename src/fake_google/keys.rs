//! The fake's service-account key and RS256 JWT checking. One RSA-2048 key
//! is generated per process (slow in debug builds) and shared by every fake
//! in it; the token endpoint verifies assertions against its public half.
//! Talks to nobody; used by `token` and by `FakeGoogle::service_account_json`.

use crate::google::types::decode_base64url;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::Verifier;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub(crate) const PROJECT_ID: &str = "email-sidecar-fake";
pub(crate) const CLIENT_EMAIL: &str = "email-sidecar@email-sidecar-fake.iam.gserviceaccount.com";
pub(crate) const CLIENT_ID: &str = "104938271650938271650";

/// The service account's key: PKCS#8 PEM and the id Google would give it.
pub(crate) struct SaKey {
    verifier: VerifyingKey<Sha256>,
    pub(crate) pem: String,
    pub(crate) key_id: String,
}

static KEY: OnceLock<Result<SaKey, String>> = OnceLock::new();

/// The process-wide key, generated on first use. Blocking: call it from
/// `spawn_blocking` in async code.
pub(crate) fn sa_key() -> Result<&'static SaKey, String> {
    KEY.get_or_init(generate).as_ref().map_err(Clone::clone)
}

fn generate() -> Result<SaKey, String> {
    let mut rng = rand::thread_rng();
    let private = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| e.to_string())?;
    let public = RsaPublicKey::from(&private);
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?
        .to_string();
    let der = public.to_public_key_der().map_err(|e| e.to_string())?;
    // Google's private_key_id is 40 hex chars; derive it from the key.
    let key_id = hex::encode(&Sha256::digest(der.as_bytes())[..20]);
    Ok(SaKey {
        verifier: VerifyingKey::<Sha256>::new(public),
        pem,
        key_id,
    })
}

impl SaKey {
    /// Google's service-account JSON for this key.
    pub(crate) fn service_account_json(&self, token_uri: &str) -> String {
        let cert_url = format!(
            "https://www.googleapis.com/robot/v1/metadata/x509/{}",
            CLIENT_EMAIL.replace('@', "%40")
        );
        serde_json::json!({
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": self.key_id,
            "private_key": self.pem,
            "client_email": CLIENT_EMAIL,
            "client_id": CLIENT_ID,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": cert_url,
            "universe_domain": "googleapis.com",
        })
        .to_string()
    }

    /// Check an RS256 JWT's signature and return its (header, claims).
    /// Tolerant like Google: segments may be padded; `kid` may be absent,
    /// but if present it must name this key.
    pub(crate) fn verify(&self, jwt: &str) -> Result<(Value, Value), JwtError> {
        let mut segs = jwt.trim().split('.');
        let (Some(h), Some(c), Some(s), None) =
            (segs.next(), segs.next(), segs.next(), segs.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header = decode_json(h)?;
        let claims = decode_json(c)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(JwtError::Malformed);
        }
        if let Some(kid) = header.get("kid") {
            if kid.as_str() != Some(self.key_id.as_str()) {
                return Err(JwtError::BadSignature);
            }
        }
        let sig_bytes = decode_base64url(s).map_err(|_| JwtError::BadSignature)?;
        let sig = Signature::try_from(sig_bytes.as_slice()).map_err(|_| JwtError::BadSignature)?;
        let signing_input = &jwt.trim()[..h.len() + 1 + c.len()];
        self.verifier
            .verify(signing_input.as_bytes(), &sig)
            .map_err(|_| JwtError::BadSignature)?;
        Ok((header, claims))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtError {
    Malformed,
    BadSignature,
}

fn decode_json(seg: &str) -> Result<Value, JwtError> {
    let bytes = decode_base64url(seg).map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::types::encode_base64url;
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};

    fn sign(key: &SaKey, header: &str, claims: &str, pad: bool) -> String {
        let enc = |b: &[u8]| {
            let s = encode_base64url(b);
            if pad {
                let n = (4 - s.len() % 4) % 4;
                format!("{s}{}", "=".repeat(n))
            } else {
                s
            }
        };
        let input = format!("{}.{}", enc(header.as_bytes()), enc(claims.as_bytes()));
        let private = RsaPrivateKey::from_pkcs8_pem(&key.pem).unwrap();
        let sig = SigningKey::<Sha256>::new(private).sign(input.as_bytes());
        format!("{input}.{}", enc(&sig.to_vec()))
    }

    #[test]
    fn a_padded_or_unpadded_jwt_signed_with_the_key_verifies_and_a_tampered_one_does_not() {
        let key = sa_key().unwrap();
        let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{}"}}"#, key.key_id);
        for pad in [false, true] {
            let jwt = sign(key, &header, r#"{"iss":"a","n":1}"#, pad);
            let (_, claims) = key.verify(&jwt).unwrap();
            assert_eq!(claims["iss"], "a");
            let tampered = jwt.replacen(".", ".e30", 1);
            assert!(key.verify(&tampered).is_err());
        }
    }

    #[test]
    fn a_jwt_naming_another_key_id_is_refused() {
        let key = sa_key().unwrap();
        let jwt = sign(
            key,
            r#"{"alg":"RS256","kid":"other"}"#,
            r#"{"iss":"a"}"#,
            false,
        );
        assert_eq!(key.verify(&jwt).unwrap_err(), JwtError::BadSignature);
        let no_kid = sign(key, r#"{"alg":"RS256"}"#, r#"{"iss":"a"}"#, false);
        assert!(key.verify(&no_kid).is_ok());
    }
}
