//! Rafiki's admin API signatures (reference/rafiki.md §7): the `signature` header is
//! `t=<unix ms>, v1=<hex HMAC-SHA256>` over `"<t>." + canonical JSON of the body` (RFC 8785).
//! A signature is accepted once, within 30 seconds of its timestamp.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

/// How long a signature stays valid, as Rafiki's `ADMIN_API_SIGNATURE_TTL_SECONDS` default.
pub const SIGNATURE_TTL_MS: u64 = 30_000;

type HmacSha256 = Hmac<Sha256>;

/// Why a request's signature was refused. Every case answers HTTP 401.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("missing signature header")]
    Missing,
    #[error("malformed signature header (expected \"t=<unix ms>, v1=<hex digest>\")")]
    Malformed,
    #[error("unsupported signature version (expected v1)")]
    UnsupportedVersion,
    #[error("signature timestamp is more than 30 seconds away from now")]
    Expired,
    #[error("signature was already used")]
    Replayed,
    #[error("signature does not match the request")]
    Mismatch,
    #[error("request body is not JSON")]
    BodyNotJson,
}

/// The payload that is signed: `"<t>." + canonical JSON`.
fn signed_payload(timestamp_ms: u64, body: &serde_json::Value) -> Result<String, SignatureError> {
    let canonical =
        serde_json_canonicalizer::to_string(body).map_err(|_| SignatureError::BodyNotJson)?;
    Ok(format!("{timestamp_ms}.{canonical}"))
}

fn mac(secret: &str) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!())
}

/// The `signature` header value for `body`, as Rafiki's clients compute it.
pub fn sign(secret: &str, timestamp_ms: u64, body: &serde_json::Value) -> String {
    let payload = signed_payload(timestamp_ms, body).unwrap_or_default();
    let mut mac = mac(secret);
    mac.update(payload.as_bytes());
    let digest = hex::encode(mac.finalize().into_bytes());
    format!("t={timestamp_ms}, v1={digest}")
}

/// Checks signatures against one secret and remembers those it accepted until they expire.
#[derive(Debug)]
pub struct SignatureVerifier {
    secret: String,
    /// Accepted signature headers -> their timestamp.
    seen: Mutex<HashMap<String, u64>>,
}

impl SignatureVerifier {
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now_ms: u64,
    ) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let (timestamp_ms, digest) = parse_header(header)?;
        if now_ms.abs_diff(timestamp_ms) > SIGNATURE_TTL_MS {
            return Err(SignatureError::Expired);
        }
        let body: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| SignatureError::BodyNotJson)?;
        let payload = signed_payload(timestamp_ms, &body)?;
        let mut mac = mac(&self.secret);
        mac.update(payload.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&digest)
            .map_err(|_| SignatureError::Mismatch)?;

        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.retain(|_, t| now_ms.abs_diff(*t) <= SIGNATURE_TTL_MS);
        if seen.insert(header.to_owned(), timestamp_ms).is_some() {
            return Err(SignatureError::Replayed);
        }
        Ok(())
    }
}

fn parse_header(header: &str) -> Result<(u64, Vec<u8>), SignatureError> {
    let mut timestamp = None;
    let mut digest = None;
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            "v1" => digest = Some(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            k if k.starts_with('v') => return Err(SignatureError::UnsupportedVersion),
            _ => return Err(SignatureError::Malformed),
        }
    }
    match (timestamp, digest) {
        (Some(t), Some(d)) => Ok((t, d)),
        _ => Err(SignatureError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_000_000_000;

    fn body() -> serde_json::Value {
        serde_json::json!({"query": "{ assets { edges { cursor } } }", "variables": {"b": 1, "a": 2}})
    }

    #[test]
    fn a_signed_request_is_accepted_once() {
        let verifier = SignatureVerifier::new("s3cret");
        let header = sign("s3cret", NOW, &body());
        let bytes = serde_json::to_vec(&body()).unwrap();
        assert_eq!(verifier.verify(Some(&header), &bytes, NOW + 10), Ok(()));
        assert_eq!(
            verifier.verify(Some(&header), &bytes, NOW + 20),
            Err(SignatureError::Replayed)
        );
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let verifier = SignatureVerifier::new("s3cret");
        let header = sign("s3cret", NOW, &body());
        let reordered =
            br#"{ "variables": {"a": 2, "b": 1}, "query": "{ assets { edges { cursor } } }" }"#;
        assert_eq!(verifier.verify(Some(&header), reordered, NOW), Ok(()));
    }

    #[test]
    fn bad_signatures_are_refused() {
        let verifier = SignatureVerifier::new("s3cret");
        let bytes = serde_json::to_vec(&body()).unwrap();
        let cases = [
            (None, SignatureError::Missing),
            (Some("garbage".to_owned()), SignatureError::Malformed),
            (Some(format!("t={NOW}")), SignatureError::Malformed),
            (
                Some(format!("t={NOW}, v2=00")),
                SignatureError::UnsupportedVersion,
            ),
            (
                Some(sign("s3cret", NOW - 31_000, &body())),
                SignatureError::Expired,
            ),
            (Some(sign("wrong", NOW, &body())), SignatureError::Mismatch),
            (
                Some(sign(
                    "s3cret",
                    NOW,
                    &serde_json::json!({"query": "{ peers { edges { cursor } } }"}),
                )),
                SignatureError::Mismatch,
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                verifier.verify(header.as_deref(), &bytes, NOW),
                Err(expected)
            );
        }
        let header = sign("s3cret", NOW, &body());
        assert_eq!(
            verifier.verify(Some(&header), b"not json", NOW),
            Err(SignatureError::BodyNotJson)
        );
    }
}
