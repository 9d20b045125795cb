//! `peerlab healthcheck`: whether the node in this container answers `GET /healthz`, for a
//! container engine's health check (Docker's `HEALTHCHECK`, compose's `healthcheck`), which runs
//! a command inside the container and has no HTTP client of its own to call.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use thiserror::Error;

/// How long the node has to answer: Rafiki's localenv health checks allow the same.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Why the node is not healthy, in one line.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HealthError {
    #[error("{url:?} is not an http:// URL")]
    InvalidUrl { url: String },
    #[error("ADMIN_PORT={value:?} is not a port number")]
    InvalidPort { value: String },
    #[error("{url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} did not answer within {} s", .timeout.as_secs_f64())]
    TimedOut { url: String, timeout: Duration },
}

/// The URL to check when none is given: the node's own admin port on loopback, from
/// `ADMIN_PORT` as `peerlab node` reads it (default 3001).
pub fn default_url(admin_port: Option<&str>) -> Result<String, HealthError> {
    let port = match admin_port.map(str::trim).filter(|value| !value.is_empty()) {
        None => 3001,
        Some(value) => value
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| HealthError::InvalidPort {
                value: value.to_owned(),
            })?,
    };
    Ok(format!("http://127.0.0.1:{port}/healthz"))
}

/// `GET url`: healthy when it answers HTTP 200 within `timeout`.
pub async fn check(url: &str, timeout: Duration) -> Result<(), HealthError> {
    let uri: hyper::Uri = url.parse().map_err(|_| HealthError::InvalidUrl {
        url: url.to_owned(),
    })?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(HealthError::InvalidUrl {
            url: url.to_owned(),
        });
    }
    let request =
        Request::get(uri)
            .body(Empty::<Bytes>::new())
            .map_err(|_| HealthError::InvalidUrl {
                url: url.to_owned(),
            })?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    match tokio::time::timeout(timeout, client.request(request)).await {
        Err(_) => Err(HealthError::TimedOut {
            url: url.to_owned(),
            timeout,
        }),
        Ok(Err(error)) => Err(HealthError::Unreachable {
            url: url.to_owned(),
            reason: reason(&error),
        }),
        Ok(Ok(response)) if response.status() == hyper::StatusCode::OK => Ok(()),
        Ok(Ok(response)) => Err(HealthError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        }),
    }
}

/// The innermost cause of a client error ("Connection refused (os error 111)"), which is what
/// a reader of a health log wants, rather than hyper's outer "client error (Connect)".
fn reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_url_is_the_admin_port_on_loopback() {
        assert_eq!(default_url(None).unwrap(), "http://127.0.0.1:3001/healthz");
        assert_eq!(
            default_url(Some(" 4001 ")).unwrap(),
            "http://127.0.0.1:4001/healthz"
        );
        assert_eq!(
            default_url(Some("")).unwrap(),
            "http://127.0.0.1:3001/healthz"
        );
        for bad in ["0", "70000", "admin"] {
            assert_eq!(
                default_url(Some(bad)),
                Err(HealthError::InvalidPort {
                    value: bad.to_owned()
                })
            );
        }
    }

    #[tokio::test]
    async fn only_plain_http_urls_are_checked() {
        for url in ["https://127.0.0.1:3001/healthz", "not a url", "/healthz"] {
            assert_eq!(
                check(url, TIMEOUT).await,
                Err(HealthError::InvalidUrl {
                    url: url.to_owned()
                })
            );
        }
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        // Accepts the connection (the backlog does) and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/healthz", listener.local_addr().unwrap());
        let error = check(&url, Duration::from_millis(200)).await.unwrap_err();
        assert_eq!(
            error,
            HealthError::TimedOut {
                url,
                timeout: Duration::from_millis(200)
            }
        );
        drop(listener);
    }
}
