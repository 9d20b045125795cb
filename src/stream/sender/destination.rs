//! Where a payment goes: a STREAM destination address and shared secret, given outright or
//! asked of an SPSP server (RFC 0009: `GET` with `Accept: application/spsp4+json`), such as a
//! wallet address URL of a peerlab or Rafiki instance.

use std::time::Duration;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::ACCEPT;
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use thiserror::Error;

use crate::ilp::Address;
use crate::ilp::stream::SharedSecret;
use crate::stream::ReceivingAddress;

/// What the SPSP request asks for: version 4 first, as RFC 0009 lists it.
const SPSP_ACCEPT: &str = "application/spsp4+json, application/spsp+json";
/// An SPSP answer is a few hundred bytes; anything this large is not one.
const MAX_SPSP_BODY: usize = 64 * 1024;

/// Where to pay.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A STREAM receiving address and its shared secret, e.g. from an incoming payment.
    Address {
        address: Address,
        shared_secret: SharedSecret,
    },
    /// An SPSP endpoint, e.g. a wallet address URL (`http://127.0.0.1:3003/alice`).
    Spsp(String),
}

/// Why an SPSP endpoint gave no destination.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SpspError {
    #[error("invalid SPSP URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot reach the SPSP server at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("the SPSP server at {url} did not answer within {timeout:?}")]
    TimedOut { url: String, timeout: Duration },
    /// Unknown or inactive wallet address.
    #[error("no SPSP receiver at {url} (HTTP 404)")]
    NotFound { url: String },
    #[error("the SPSP server at {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("the SPSP answer from {url} is not SPSP: {reason}")]
    InvalidResponse { url: String, reason: String },
}

/// The SPSP answer's fields the sender needs (`receipts_enabled` and others are ignored).
#[derive(Debug, Deserialize)]
struct SpspResponse {
    destination_account: String,
    shared_secret: String,
}

impl Destination {
    /// The receiving address to pay, asking the SPSP server when there is one; the request
    /// takes at most `timeout`.
    pub async fn resolve(&self, timeout: Duration) -> Result<ReceivingAddress, SpspError> {
        match self {
            Self::Address {
                address,
                shared_secret,
            } => Ok(ReceivingAddress {
                destination: address.clone(),
                shared_secret: shared_secret.clone(),
            }),
            Self::Spsp(url) => query_spsp(url, timeout).await,
        }
    }
}

async fn query_spsp(url: &str, timeout: Duration) -> Result<ReceivingAddress, SpspError> {
    let invalid_url = |reason: &str| SpspError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url
        .parse()
        .map_err(|error: hyper::http::uri::InvalidUri| invalid_url(&error.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        // No TLS stack is in the tree: peerlab serves and speaks plain HTTP only.
        Some("https") => return Err(invalid_url("https is not supported; use http")),
        _ => return Err(invalid_url("expected an http URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid_url("no host"));
    }
    // The client sets `Host` from the URL.
    let request = Request::get(uri)
        .header(ACCEPT, SPSP_ACCEPT)
        .body(Empty::<Bytes>::new())
        .map_err(|error| invalid_url(&error.to_string()))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|error| SpspError::Unreachable {
                url: url.to_owned(),
                detail: error.to_string(),
            })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_SPSP_BODY)
            .collect()
            .await
            .map_err(|error| SpspError::InvalidResponse {
                url: url.to_owned(),
                reason: format!("unreadable or larger than {MAX_SPSP_BODY} bytes: {error}"),
            })?
            .to_bytes();
        Ok::<_, SpspError>((status, body))
    };
    let (status, body) = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| SpspError::TimedOut {
            url: url.to_owned(),
            timeout,
        })??;
    if status == StatusCode::NOT_FOUND {
        return Err(SpspError::NotFound {
            url: url.to_owned(),
        });
    }
    if !status.is_success() {
        return Err(SpspError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    parse_spsp(&body).map_err(|reason| SpspError::InvalidResponse {
        url: url.to_owned(),
        reason,
    })
}

/// Reads an SPSP answer: a valid ILP address and a 32-byte secret in base64, standard or URL-safe
/// (Rafiki sends the latter), padded or not.
fn parse_spsp(body: &[u8]) -> Result<ReceivingAddress, String> {
    let response: SpspResponse =
        serde_json::from_slice(body).map_err(|error| format!("not the expected JSON: {error}"))?;
    receiving_address(&response.destination_account, &response.shared_secret)
}

/// A receiving address from its text forms, as SPSP answers and Open Payments' `ilp` payment
/// methods give them: an ILP address, and a 32-byte secret in base64, standard or URL-safe,
/// padded or not.
pub fn receiving_address(address: &str, shared_secret: &str) -> Result<ReceivingAddress, String> {
    let destination =
        Address::parse(address.trim()).map_err(|error| format!("destination_account: {error}"))?;
    let standard: String = shared_secret
        .trim()
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let lenient = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bytes = lenient
        .decode(standard)
        .map_err(|error| format!("shared_secret is not base64: {error}"))?;
    let shared_secret =
        SharedSecret::from_slice(&bytes).map_err(|error| format!("shared_secret: {error}"))?;
    Ok(ReceivingAddress {
        destination,
        shared_secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spsp_answers_in_either_base64_alphabet_padded_or_not() {
        // 32 bytes whose base64 uses both alphabets' special characters.
        let secret = [0xfb; 32];
        let standard = base64::engine::general_purpose::STANDARD.encode(secret);
        assert!(standard.contains('+') || standard.contains('/'));
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        for encoded in [standard, url_safe] {
            let body = format!(
                r#"{{"destination_account":"test.b.abc","shared_secret":"{encoded}","receipts_enabled":false}}"#
            );
            let parsed = parse_spsp(body.as_bytes()).unwrap();
            assert_eq!(parsed.destination.as_str(), "test.b.abc");
            assert_eq!(parsed.shared_secret.as_bytes(), &secret);
        }
    }

    #[test]
    fn bad_spsp_answers_say_what_is_wrong() {
        let answer = |destination: &str, secret: &str| {
            parse_spsp(
                format!(r#"{{"destination_account":"{destination}","shared_secret":"{secret}"}}"#)
                    .as_bytes(),
            )
            .unwrap_err()
        };
        assert!(answer("not an address", "AAAA").starts_with("destination_account"));
        assert!(answer("test.b.x", "!!!").starts_with("shared_secret is not base64"));
        assert_eq!(
            answer("test.b.x", "AAAA"),
            "shared_secret: a shared secret is 32 bytes, not 3"
        );
        assert!(
            parse_spsp(b"<html>")
                .unwrap_err()
                .starts_with("not the expected JSON")
        );
        assert!(parse_spsp(br#"{"shared_secret":"AAAA"}"#).is_err());
    }
}
