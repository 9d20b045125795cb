//! Webhook delivery: every recorded event is POSTed to `WEBHOOK_URL` as JSON `{id, type, data}`,
//! with Rafiki's rules (webhook/service.ts): only HTTP 200 counts as delivered; a failed attempt
//! is retried after `RETRY_BACKOFF * min(attempts, 6)` (10 s, 20 s, ... up to 60 s), at most
//! `WEBHOOK_MAX_RETRY` attempts in all; each attempt times out after `WEBHOOK_TIMEOUT`; with
//! `SIGNATURE_SECRET` set, a `Rafiki-Signature: t=<ms>, v1=<hex HMAC-SHA256>` header signs
//! `"<ms>.<canonical JSON of the body>"`.
//!
//! Delivery runs in its own task and follows the instance's event channel, so recording an event
//! never waits for it: a slow, hanging or failing endpoint never slows packets or the admin API.
//! Its memory is bounded: at most `max_in_flight` requests at once and `max_waiting` events
//! waiting for a first attempt or a retry; beyond that the oldest waiting event is dropped, with
//! a warning and a count in [`DeliveryStats`]. Rafiki keeps undelivered webhooks in its database
//! without bound; an in-memory sandbox cannot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::Request;
use hyper::header::CONTENT_TYPE;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::{broadcast, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use url::Url;

use crate::instance::WebhookEvent;

/// Rafiki's `RETRY_BACKOFF_MS`.
pub const RETRY_BACKOFF: Duration = Duration::from_secs(10);
/// Rafiki's backoff grows with the attempts up to this many times the base.
const MAX_BACKOFF_STEPS: u32 = 6;
/// The signature version Rafiki sends by default (`SIGNATURE_VERSION`).
const SIGNATURE_VERSION: u8 = 1;

/// How delivery behaves. `from_url` gives Rafiki's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `WEBHOOK_URL` (plain http: peerlab speaks no TLS as a client).
    pub url: Url,
    /// `WEBHOOK_TIMEOUT`: how long one attempt may take.
    pub timeout: Duration,
    /// `WEBHOOK_MAX_RETRY`: attempts in all, the first one included.
    pub max_attempts: u32,
    /// `SIGNATURE_SECRET`: sign each request when set.
    pub signature_secret: Option<String>,
    /// The backoff base (Rafiki's fixed 10 s); settable so tests need not wait.
    pub retry_backoff: Duration,
    /// Requests in flight at once.
    pub max_in_flight: usize,
    /// Events waiting for a first attempt or a retry; the oldest beyond this are dropped.
    pub max_waiting: usize,
}

impl WebhookSettings {
    pub fn from_url(url: Url) -> Self {
        Self {
            url,
            timeout: Duration::from_millis(2_000),
            max_attempts: 10,
            signature_secret: None,
            retry_backoff: RETRY_BACKOFF,
            max_in_flight: 16,
            max_waiting: 10_000,
        }
    }
}

/// Counters of what delivery did, readable while it runs.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Events the endpoint answered 200 to.
    pub delivered: AtomicU64,
    /// Attempts that failed (not 200, no answer in time, no connection).
    pub failed_attempts: AtomicU64,
    /// Events given up after `max_attempts` attempts.
    pub abandoned: AtomicU64,
    /// Events dropped unsent: beyond `max_waiting`, or missed because delivery fell more than the
    /// event channel's backlog behind.
    pub dropped: AtomicU64,
}

impl DeliveryStats {
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }
    pub fn failed_attempts(&self) -> u64 {
        self.failed_attempts.load(Ordering::Relaxed)
    }
    pub fn abandoned(&self) -> u64 {
        self.abandoned.load(Ordering::Relaxed)
    }
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The running delivery task and its counters.
#[derive(Debug)]
pub struct WebhookDelivery {
    pub stats: Arc<DeliveryStats>,
    pub task: JoinHandle<()>,
}

impl WebhookDelivery {
    /// Starts delivering what `events` receives until `shutdown` turns true (requests still in
    /// flight then are abandoned: the events stay readable with `webhookEvents`).
    pub fn spawn(
        events: broadcast::Receiver<Arc<WebhookEvent>>,
        settings: WebhookSettings,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let stats = Arc::new(DeliveryStats::default());
        let worker = Worker::new(settings, stats.clone());
        let task = tokio::spawn(worker.run(events, shutdown));
        Self { stats, task }
    }
}

/// An event on its way, with the attempts it has had.
#[derive(Debug)]
struct Job {
    event: Arc<WebhookEvent>,
    attempts: u32,
    due: Instant,
}

/// Events waiting, by their sequence in the event log (oldest first), and the same by due time.
#[derive(Debug, Default)]
struct Waiting {
    jobs: BTreeMap<u64, Job>,
    by_due: BTreeSet<(Instant, u64)>,
}

impl Waiting {
    fn insert(&mut self, job: Job) {
        let sequence = job.event.sequence;
        self.by_due.insert((job.due, sequence));
        self.jobs.insert(sequence, job);
    }

    fn len(&self) -> usize {
        self.jobs.len()
    }

    fn pop_oldest(&mut self) -> Option<Job> {
        let (sequence, job) = self.jobs.pop_first()?;
        self.by_due.remove(&(job.due, sequence));
        Some(job)
    }

    fn next_due(&self) -> Option<Instant> {
        self.by_due.first().map(|(due, _)| *due)
    }

    /// The job due soonest, if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Job> {
        let &(due, sequence) = self.by_due.first()?;
        if due > now {
            return None;
        }
        self.by_due.pop_first();
        self.jobs.remove(&sequence)
    }
}

type HttpClient = Client<crate::net::HttpConnector, Full<Bytes>>;

struct Worker {
    settings: Arc<WebhookSettings>,
    stats: Arc<DeliveryStats>,
    client: HttpClient,
    waiting: Waiting,
    in_flight: JoinSet<(Job, Result<(), String>)>,
}

impl Worker {
    fn new(settings: WebhookSettings, stats: Arc<DeliveryStats>) -> Self {
        Self {
            settings: Arc::new(settings),
            stats,
            // Each attempt is bounded by the webhook timeout; connecting by this.
            client: Client::builder(TokioExecutor::new())
                .build(crate::net::HttpConnector::new(Duration::from_secs(10))),
            waiting: Waiting::default(),
            in_flight: JoinSet::new(),
        }
    }

    async fn run(
        mut self,
        mut events: broadcast::Receiver<Arc<WebhookEvent>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut open = true;
        loop {
            self.dispatch();
            let next_due = self
                .waiting
                .next_due()
                .filter(|_| self.in_flight.len() < self.settings.max_in_flight);
            tokio::select! {
                _ = shutdown.changed() => break,
                received = events.recv(), if open => match received {
                    Ok(event) => self.enqueue(Job { event, attempts: 0, due: Instant::now() }),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        self.stats.dropped.fetch_add(missed, Ordering::Relaxed);
                        tracing::warn!(missed, "webhook delivery fell behind; events dropped unsent");
                    }
                    // The instance is gone: finish what is waiting, take nothing new.
                    Err(broadcast::error::RecvError::Closed) => open = false,
                },
                Some(finished) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    if let Ok((job, outcome)) = finished {
                        self.finished(job, outcome);
                    }
                }
                _ = sleep_until(next_due), if next_due.is_some() => {}
            }
            if *shutdown.borrow() || (!open && self.waiting.len() == 0 && self.in_flight.is_empty())
            {
                break;
            }
        }
        self.in_flight.abort_all();
    }

    fn enqueue(&mut self, job: Job) {
        self.waiting.insert(job);
        while self.waiting.len() > self.settings.max_waiting {
            if let Some(dropped) = self.waiting.pop_oldest() {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    event = %dropped.event.id,
                    "too many webhook events waiting; the oldest is dropped unsent"
                );
            }
        }
    }

    /// Starts the attempts that are due, as many as may be in flight.
    fn dispatch(&mut self) {
        let now = Instant::now();
        while self.in_flight.len() < self.settings.max_in_flight {
            let Some(job) = self.waiting.pop_due(now) else {
                break;
            };
            let client = self.client.clone();
            let settings = self.settings.clone();
            self.in_flight.spawn(async move {
                let outcome = attempt(&client, &settings, &job.event).await;
                (job, outcome)
            });
        }
    }

    fn finished(&mut self, mut job: Job, outcome: Result<(), String>) {
        job.attempts = job.attempts.saturating_add(1);
        match outcome {
            Ok(()) => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                self.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(event = %job.event.id, attempts = job.attempts, %error, "webhook request failed");
                if job.attempts >= self.settings.max_attempts {
                    self.stats.abandoned.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(event = %job.event.id, "webhook given up after {} attempts", job.attempts);
                    return;
                }
                job.due = Instant::now() + backoff(self.settings.retry_backoff, job.attempts);
                self.enqueue(job);
            }
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// How long after its `attempts`-th failed attempt an event is tried again: Rafiki's
/// `min(attempts, 6) * RETRY_BACKOFF_MS`.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(attempts.min(MAX_BACKOFF_STEPS))
}

/// The body Rafiki POSTs: `{id, type, data}`.
pub fn body(event: &WebhookEvent) -> Value {
    json!({
        "id": event.id.to_string(),
        "type": event.event_type.as_str(),
        "data": event.data(),
    })
}

/// RFC 8785 canonical JSON (keys sorted by UTF-16 code units, no whitespace), as Rafiki's
/// `json-canonicalize`. serde_json_canonicalizer sorts the keys itself, so the result does not
/// depend on whether serde_json keeps insertion order.
pub fn canonical_json(value: &Value) -> Result<String, String> {
    serde_json_canonicalizer::to_string(value).map_err(|error| error.to_string())
}

/// The `Rafiki-Signature` header for `body` signed at `timestamp_ms`.
pub fn signature(body: &Value, secret: &str, timestamp_ms: u128) -> Result<String, String> {
    let payload = format!("{timestamp_ms}.{}", canonical_json(body)?);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|error| format!("invalid signature secret: {error}"))?;
    mac.update(payload.as_bytes());
    let digest = hex::encode(mac.finalize().into_bytes());
    Ok(format!("t={timestamp_ms}, v{SIGNATURE_VERSION}={digest}"))
}

/// One POST of the event; Ok only for HTTP 200 within the timeout.
async fn attempt(
    client: &HttpClient,
    settings: &WebhookSettings,
    event: &WebhookEvent,
) -> Result<(), String> {
    let body = body(event);
    let bytes = serde_json::to_vec(&body).map_err(|error| error.to_string())?;
    let mut request = Request::post(settings.url.as_str()).header(CONTENT_TYPE, "application/json");
    if let Some(secret) = &settings.signature_secret {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        request = request.header("Rafiki-Signature", signature(&body, secret, now_ms)?);
    }
    let request = request
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|error| error.to_string())?;
    match tokio::time::timeout(settings.timeout, client.request(request)).await {
        Err(_) => Err(format!("no answer within {:?}", settings.timeout)),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(response)) if response.status().as_u16() == 200 => Ok(()),
        Ok(Ok(response)) => Err(format!("answered HTTP {}", response.status().as_u16())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_the_attempts_up_to_six_times_the_base() {
        let base = Duration::from_secs(10);
        assert_eq!(backoff(base, 1), Duration::from_secs(10));
        assert_eq!(backoff(base, 2), Duration::from_secs(20));
        assert_eq!(backoff(base, 6), Duration::from_secs(60));
        assert_eq!(backoff(base, 9), Duration::from_secs(60));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_has_no_whitespace() {
        let value =
            json!({"type": "t", "id": "i", "data": {"b": 1, "a": [ {"z": true, "y": null} ]}});
        assert_eq!(
            canonical_json(&value).unwrap(),
            r#"{"data":{"a":[{"y":null,"z":true}],"b":1},"id":"i","type":"t"}"#
        );
    }

    #[test]
    fn the_signature_is_an_hmac_of_the_timestamp_and_the_canonical_body() {
        // Keys out of order: the signature covers the canonical form.
        let body = json!({"type": "peer.liquidity_low", "id": "e", "data": {"balance": "5"}});
        let header = signature(&body, "secret", 1_700_000_000_000).unwrap();
        // printf '%s' '1700000000000.{"data":{"balance":"5"},"id":"e","type":"peer.liquidity_low"}'
        //   | openssl dgst -sha256 -hmac secret
        assert_eq!(
            header,
            "t=1700000000000, v1=3b3e16fde9282e12194115c20a428bf6d4605cd7f64cab85e450e140a2724599"
        );
    }

    fn event(sequence: u64) -> Arc<WebhookEvent> {
        WebhookEvent::new(
            uuid::Uuid::new_v4(),
            crate::instance::EventType::PeerLiquidityLow,
            &json!({}),
            SystemTime::now(),
            sequence,
        )
    }

    #[tokio::test]
    async fn beyond_the_bound_the_oldest_waiting_event_is_dropped() {
        let mut settings = WebhookSettings::from_url("http://127.0.0.1:9/".parse().unwrap());
        settings.max_waiting = 2;
        let stats = Arc::new(DeliveryStats::default());
        let mut worker = Worker::new(settings, stats.clone());
        let now = Instant::now();
        // A retry of event 0 waits longest; events 1 and 2 are new.
        worker.enqueue(Job {
            event: event(0),
            attempts: 1,
            due: now + Duration::from_secs(10),
        });
        for sequence in [1, 2] {
            worker.enqueue(Job {
                event: event(sequence),
                attempts: 0,
                due: now,
            });
        }
        assert_eq!(stats.dropped(), 1);
        let left: Vec<u64> = worker.waiting.jobs.keys().copied().collect();
        assert_eq!(left, [1, 2]);
        assert_eq!(worker.waiting.by_due.len(), 2, "the due index follows");
        // Due ones come out in due order; the rest wait.
        assert_eq!(
            worker.waiting.pop_due(now).map(|j| j.event.sequence),
            Some(1)
        );
        assert_eq!(
            worker.waiting.pop_due(now).map(|j| j.event.sequence),
            Some(2)
        );
        assert!(worker.waiting.pop_due(now).is_none());
    }
}
