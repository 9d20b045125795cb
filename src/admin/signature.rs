//! Rafiki's admin API signatures (reference/rafiki.md §7): the `signature` header is
//! `t=<unix ms>, v<version>=<hex HMAC-SHA256>` over `"<t>." + canonical JSON of the body`
//! (RFC 8785). A signature is accepted once, within its time to live
//! (`ADMIN_API_SIGNATURE_TTL_SECONDS`), and only with the configured version
//! (`ADMIN_API_SIGNATURE_VERSION`).

use std::collections::BTreeSet;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

/// Rafiki's default `ADMIN_API_SIGNATURE_TTL_SECONDS`.
pub const DEFAULT_TTL_SECONDS: u64 = 30;
/// Rafiki's default `ADMIN_API_SIGNATURE_VERSION`.
pub const DEFAULT_VERSION: u32 = 1;

type HmacSha256 = Hmac<Sha256>;

/// Why a request's signature was refused. Every case answers HTTP 401.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("missing signature header")]
    Missing,
    #[error("malformed signature header (expected \"t=<unix ms>, v<version>=<hex digest>\")")]
    Malformed,
    #[error("unsupported signature version v{got} (expected v{expected})")]
    UnsupportedVersion { got: String, expected: u32 },
    #[error("signature timestamp is more than {ttl_seconds} seconds away from now")]
    Expired { ttl_seconds: u64 },
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

/// The timestamp to sign a request with: now, in milliseconds, but always later than the last one
/// this process signed with. Two requests with the same body signed in the same millisecond would
/// carry the same signature, and Rafiki (like peerlab) refuses a signature it has seen.
pub fn unique_timestamp_ms() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    now.max(previous.saturating_add(1))
}

/// The `signature` header value for `body` with version 1, as Rafiki's clients compute it.
pub fn sign(secret: &str, timestamp_ms: u64, body: &serde_json::Value) -> String {
    sign_with_version(secret, DEFAULT_VERSION, timestamp_ms, body)
}

/// The `signature` header value for `body`, labelled with `version` (`v<version>=`).
pub fn sign_with_version(
    secret: &str,
    version: u32,
    timestamp_ms: u64,
    body: &serde_json::Value,
) -> String {
    let payload = signed_payload(timestamp_ms, body).unwrap_or_default();
    let mut mac = mac(secret);
    mac.update(payload.as_bytes());
    let digest = hex::encode(mac.finalize().into_bytes());
    format!("t={timestamp_ms}, v{version}={digest}")
}

/// What a signature must satisfy besides matching the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// How far from now a signature's timestamp may be, in seconds.
    pub ttl_seconds: u64,
    /// The only version accepted (`v<version>=` in the header).
    pub version: u32,
}

impl Default for SignaturePolicy {
    fn default() -> Self {
        Self {
            ttl_seconds: DEFAULT_TTL_SECONDS,
            version: DEFAULT_VERSION,
        }
    }
}

/// Checks signatures against one secret and remembers those it accepted until they expire.
#[derive(Debug)]
pub struct SignatureVerifier {
    secret: String,
    policy: SignaturePolicy,
    /// Accepted signature headers, ordered by their timestamp so that expired ones are dropped
    /// from the front. A header is only accepted within the TTL of now (either side), so this
    /// holds at most the signatures accepted in a window of twice the TTL.
    seen: Mutex<BTreeSet<(u64, String)>>,
}

impl SignatureVerifier {
    pub fn new(secret: impl Into<String>, policy: SignaturePolicy) -> Self {
        Self {
            secret: secret.into(),
            policy,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    fn ttl_ms(&self) -> u64 {
        self.policy.ttl_seconds.saturating_mul(1_000)
    }

    /// How many accepted signatures are remembered (for tests of the bound).
    pub fn remembered(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now_ms: u64,
    ) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let (timestamp_ms, version, digest) = parse_header(header)?;
        // Compared as numbers, as Rafiki does (`Number(version)`): `v01` is version 1.
        if version.parse::<u32>().ok() != Some(self.policy.version) {
            return Err(SignatureError::UnsupportedVersion {
                got: version.to_owned(),
                expected: self.policy.version,
            });
        }
        // Rafiki only bounds the age; a timestamp in the future is bounded too here, so that
        // the replay memory below can forget every signature once it is a TTL old.
        if now_ms.abs_diff(timestamp_ms) > self.ttl_ms() {
            return Err(SignatureError::Expired {
                ttl_seconds: self.policy.ttl_seconds,
            });
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
        let oldest_valid = now_ms.saturating_sub(self.ttl_ms());
        // Everything before `oldest_valid` can no longer pass the TTL check above.
        *seen = seen.split_off(&(oldest_valid, String::new()));
        if !seen.insert((timestamp_ms, header.to_owned())) {
            return Err(SignatureError::Replayed);
        }
        Ok(())
    }
}

/// Splits `t=<ms>, v<version>=<hex>` into its timestamp, version (as written) and digest.
fn parse_header(header: &str) -> Result<(u64, &str, Vec<u8>), SignatureError> {
    let mut timestamp = None;
    let mut signed = None;
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            k if k.starts_with('v') && signed.is_none() => signed = Some((&k[1..], value)),
            _ => return Err(SignatureError::Malformed),
        }
    }
    match (timestamp, signed) {
        (Some(t), Some((version, digest))) => {
            let digest = hex::decode(digest).map_err(|_| SignatureError::Malformed)?;
            Ok((t, version, digest))
        }
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

    fn verifier() -> SignatureVerifier {
        SignatureVerifier::new("s3cret", SignaturePolicy::default())
    }

    #[test]
    fn a_signed_request_is_accepted_once() {
        let verifier = verifier();
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
        let verifier = verifier();
        let header = sign("s3cret", NOW, &body());
        let reordered =
            br#"{ "variables": {"a": 2, "b": 1}, "query": "{ assets { edges { cursor } } }" }"#;
        assert_eq!(verifier.verify(Some(&header), reordered, NOW), Ok(()));
    }

    #[test]
    fn bad_signatures_are_refused() {
        let verifier = verifier();
        let bytes = serde_json::to_vec(&body()).unwrap();
        let cases = [
            (None, SignatureError::Missing),
            (Some("garbage".to_owned()), SignatureError::Malformed),
            (Some(format!("t={NOW}")), SignatureError::Malformed),
            (Some(format!("t={NOW}, v1=zz")), SignatureError::Malformed),
            (
                Some(format!("t={NOW}, t={NOW}, v1=00")),
                SignatureError::Malformed,
            ),
            (
                Some(sign_with_version("s3cret", 2, NOW, &body())),
                SignatureError::UnsupportedVersion {
                    got: "2".into(),
                    expected: 1,
                },
            ),
            (
                Some(sign("s3cret", NOW - 31_000, &body())),
                SignatureError::Expired { ttl_seconds: 30 },
            ),
            (
                Some(sign("s3cret", NOW + 31_000, &body())),
                SignatureError::Expired { ttl_seconds: 30 },
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

    #[test]
    fn the_configured_version_and_ttl_apply() {
        let verifier = SignatureVerifier::new(
            "s3cret",
            SignaturePolicy {
                ttl_seconds: 120,
                version: 3,
            },
        );
        let bytes = serde_json::to_vec(&body()).unwrap();
        // 90 s old: past Rafiki's default TTL, within this one.
        let header = sign_with_version("s3cret", 3, NOW - 90_000, &body());
        assert_eq!(verifier.verify(Some(&header), &bytes, NOW), Ok(()));
        let header = sign_with_version("s3cret", 3, NOW - 121_000, &body());
        assert_eq!(
            verifier.verify(Some(&header), &bytes, NOW),
            Err(SignatureError::Expired { ttl_seconds: 120 })
        );
        let header = sign("s3cret", NOW, &body());
        assert_eq!(
            verifier.verify(Some(&header), &bytes, NOW),
            Err(SignatureError::UnsupportedVersion {
                got: "1".into(),
                expected: 3
            })
        );
    }

    #[test]
    fn the_replay_memory_forgets_signatures_once_they_expire() {
        let verifier = verifier();
        let bytes = serde_json::to_vec(&body()).unwrap();
        for offset in 0..100 {
            let header = sign("s3cret", NOW + offset, &body());
            assert_eq!(verifier.verify(Some(&header), &bytes, NOW + offset), Ok(()));
        }
        assert_eq!(verifier.remembered(), 100);
        // One TTL and a bit later, only the newest signature is remembered.
        let later = NOW + 30_000 + 100;
        let header = sign("s3cret", later, &body());
        assert_eq!(verifier.verify(Some(&header), &bytes, later), Ok(()));
        assert_eq!(verifier.remembered(), 1);
    }
}
