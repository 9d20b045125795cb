//! A test receiver: the last hop of a packet until STREAM receivers exist. It fulfills a Prepare
//! whose data starts with the preimage of its condition, which is how tests build packets they
//! want fulfilled ([`paying_prepare`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use peerlab::ilp::{Address, ErrorCode, Fulfill, Prepare, Reject, Timestamp, condition_for};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What a receiver has seen.
#[derive(Debug, Default)]
pub struct ReceiverStats {
    pub fulfilled: AtomicU64,
    pub rejected: AtomicU64,
    pub amount_received: AtomicU64,
}

/// A running test receiver.
#[derive(Debug)]
pub struct TestReceiver {
    url: String,
    address: Address,
    stats: Arc<ReceiverStats>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Clone)]
struct ReceiverState {
    address: Address,
    stats: Arc<ReceiverStats>,
    /// How long the receiver thinks before it answers.
    delay: Duration,
}

impl TestReceiver {
    /// Starts a receiver for packets to `address` on a free loopback port. It accepts any bearer
    /// token: authentication is the connector's job, not the receiver's.
    pub async fn start(address: Address) -> std::io::Result<Self> {
        Self::start_slow(address, Duration::ZERO).await
    }

    /// A receiver that waits `delay` before each answer, to test expiry.
    pub async fn start_slow(address: Address, delay: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let stats = Arc::new(ReceiverStats::default());
        let state = ReceiverState {
            address: address.clone(),
            stats: stats.clone(),
            delay,
        };
        let app = Router::new().fallback(receive).with_state(state);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            url,
            address,
            stats,
            stop: Some(stop),
            server: Some(server),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    pub fn fulfilled(&self) -> u64 {
        self.stats.fulfilled.load(Ordering::Relaxed)
    }

    pub fn amount_received(&self) -> u64 {
        self.stats.amount_received.load(Ordering::Relaxed)
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
    }
}

async fn receive(State(state): State<ReceiverState>, body: Bytes) -> impl IntoResponse {
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    let Ok(prepare) = Prepare::decode(&body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    let preimage: Option<[u8; 32]> = prepare.data().get(..32).and_then(|p| p.try_into().ok());
    let reply = match preimage {
        Some(preimage) if &condition_for(&preimage) == prepare.execution_condition() => {
            state.stats.fulfilled.fetch_add(1, Ordering::Relaxed);
            state
                .stats
                .amount_received
                .fetch_add(prepare.amount(), Ordering::Relaxed);
            Fulfill::new(preimage, Bytes::new())
                .map(|f| f.encode())
                .unwrap_or_default()
        }
        _ => {
            state.stats.rejected.fetch_add(1, Ordering::Relaxed);
            Reject::truncated(
                ErrorCode::F06UnexpectedPayment,
                Some(state.address.clone()),
                "the test receiver fulfills only packets that carry their preimage",
                Bytes::new(),
            )
            .encode()
        }
    };
    (StatusCode::OK, reply)
}

/// A Prepare the test receiver will fulfill: a random preimage in its data, its hash as the
/// condition.
pub fn paying_prepare(destination: &Address, amount: u64, expires_in: Duration) -> Prepare {
    let mut preimage = [0u8; 32];
    preimage[..16].copy_from_slice(peerlab::entropy::uuid().as_bytes());
    preimage[16..].copy_from_slice(peerlab::entropy::uuid().as_bytes());
    Prepare::new(
        destination.clone(),
        amount,
        Timestamp::now().saturating_add(expires_in),
        condition_for(&preimage),
        preimage.to_vec(),
    )
    .unwrap_or_else(|_| unreachable!("32 bytes of data are within limits"))
}
