//! A packet's path through an instance: one function from (incoming peer, Prepare) to Fulfill or
//! Reject, in Rafiki's middleware order (reference/rafiki.md §4.2). The HTTP server, the tests and
//! the simulator all call [`Connector::handle_prepare`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::OutgoingClient;
use super::errors::PacketError;
use super::rate_limit::RateLimiter;
use crate::ilp::ildcp::{ILDCP_DESTINATION, is_ildcp_request};
use crate::ilp::{Prepare, Reply, Scheme, Timestamp};
use crate::instance::{Instance, LiquidityError, Peer};
use crate::ledger::TransferId;

/// How a connector treats packets.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// Time taken off each packet's expiry for the next hop, and the least it must have left
    /// (Rafiki's `minExpirationWindow`).
    pub min_expiry_window: Duration,
    /// The longest this connector holds a packet (and its liquidity) waiting for a reply. Kept at
    /// `TWO_PHASE_TIMEOUT_SECONDS` so that a reply always arrives before the pending transfer
    /// could lapse.
    pub max_hold: Duration,
    /// Packets per second accepted from each peer; `None` means no limit.
    pub rate_limit_per_second: Option<u32>,
}

impl ConnectorSettings {
    pub fn new(two_phase_timeout: Duration) -> Self {
        Self {
            min_expiry_window: Duration::from_secs(1),
            max_hold: two_phase_timeout.min(Duration::from_secs(30)),
            rate_limit_per_second: None,
        }
    }
}

/// An instance's connector.
#[derive(Debug)]
pub struct Connector {
    instance: Arc<Instance>,
    client: OutgoingClient,
    settings: ConnectorSettings,
    rate_limiter: Option<RateLimiter>,
}

/// Where a packet goes after route lookup.
enum Hop {
    /// Answered here: an IL-DCP request.
    Ildcp,
    Peer(Arc<Peer>),
}

/// A packet's reservation of liquidity. Whatever happens to the packet, the reservation is
/// posted or voided right away, even if the request that carried it is abandoned midway
/// (dropping it voids it): liquidity is never held hostage until the pending transfer lapses.
struct Reservation<'a> {
    instance: &'a Instance,
    id: Option<TransferId>,
}

impl Reservation<'_> {
    fn settle(mut self, fulfilled: bool) -> Result<(), PacketError> {
        match self.id.take() {
            Some(id) => self
                .instance
                .settle_packet(id, fulfilled)
                .map_err(|e| PacketError::Internal(format!("settling {id}: {e}"))),
            None => Ok(()),
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.instance.settle_packet(id, false);
        }
    }
}

impl Connector {
    pub fn new(instance: Arc<Instance>, settings: ConnectorSettings) -> Self {
        Self {
            rate_limiter: settings.rate_limit_per_second.map(RateLimiter::new),
            instance,
            client: OutgoingClient::default(),
            settings,
        }
    }

    pub fn instance(&self) -> &Arc<Instance> {
        &self.instance
    }

    /// Handles a Prepare from `from`. Every failure here becomes a Reject triggered by this
    /// instance's address; Rejects from further on are passed back unchanged.
    pub async fn handle_prepare(&self, from: &Peer, prepare: Prepare) -> Reply {
        match self.process(from, prepare).await {
            Ok(reply) => reply,
            Err(error) => Reply::Reject(error.to_reject(&self.instance.settings().ilp_address)),
        }
    }

    async fn process(&self, from: &Peer, prepare: Prepare) -> Result<Reply, PacketError> {
        let hop = self.route(from, &prepare)?;
        if let Some(maximum) = from.max_packet_amount
            && prepare.amount() > maximum
        {
            return Err(PacketError::AmountTooLarge {
                received: prepare.amount(),
                maximum,
            });
        }
        if let Some(limiter) = &self.rate_limiter
            && !limiter.allow(from.id, Instant::now())
        {
            return Err(PacketError::RateLimited);
        }
        let next = match hop {
            Hop::Ildcp => return self.ildcp(from, &prepare),
            Hop::Peer(next) => next,
        };
        let reservation = self.reserve(from, &next, prepare.amount())?;
        let outcome = self.forward(&next, prepare).await;
        let fulfilled = matches!(outcome, Ok(Reply::Fulfill(_)));
        reservation.settle(fulfilled)?;
        outcome
    }

    fn route(&self, from: &Peer, prepare: &Prepare) -> Result<Hop, PacketError> {
        let destination = prepare.destination();
        if destination.scheme() == Scheme::Peer {
            if destination.as_str() == ILDCP_DESTINATION {
                return Ok(Hop::Ildcp);
            }
            return Err(PacketError::PeerProtocol(destination.to_string()));
        }
        self.instance
            .next_hop(from, destination)
            .map(Hop::Peer)
            .ok_or_else(|| PacketError::Unreachable(destination.to_string()))
    }

    fn ildcp(&self, from: &Peer, prepare: &Prepare) -> Result<Reply, PacketError> {
        if !is_ildcp_request(prepare) {
            return Err(PacketError::InvalidPacket(
                "condition must be peer protocol condition.",
            ));
        }
        let response = self
            .instance
            .ildcp_response(from)
            .ok_or_else(|| PacketError::Internal(format!("no asset for peer {}", from.id)))?;
        Ok(Reply::Fulfill(response.to_fulfill()))
    }

    /// Reserves the packet's amount from the incoming peer's liquidity. Zero-amount packets
    /// (STREAM probes) move nothing, as in Rafiki.
    fn reserve(
        &self,
        from: &Peer,
        next: &Peer,
        amount: u64,
    ) -> Result<Reservation<'_>, PacketError> {
        if amount == 0 {
            return Ok(Reservation {
                instance: &self.instance,
                id: None,
            });
        }
        // The transfer outlives the longest hold by a margin, so a reply never finds it lapsed.
        let timeout_ms = (self.settings.max_hold + Duration::from_secs(1)).as_millis() as u64;
        match self
            .instance
            .reserve_packet(from.id, next.id, amount, timeout_ms)
        {
            Ok(id) => Ok(Reservation {
                instance: &self.instance,
                id: Some(id),
            }),
            Err(LiquidityError::InsufficientBalance | LiquidityError::BalanceOverflow) => {
                Err(PacketError::InsufficientLiquidity)
            }
            Err(error) => Err(PacketError::Internal(format!(
                "reserving {amount}: {error}"
            ))),
        }
    }

    /// Shortens the expiry, sends the packet on, waits no longer than the new expiry, and checks
    /// a Fulfill against the condition.
    async fn forward(&self, next: &Peer, mut prepare: Prepare) -> Result<Reply, PacketError> {
        let now = Timestamp::now();
        let source_expiry = prepare.expires_at();
        if source_expiry <= now {
            return Err(PacketError::AlreadyExpired);
        }
        let window = self.settings.min_expiry_window;
        let expiry = source_expiry
            .saturating_sub(window)
            .min(now.saturating_add(self.settings.max_hold));
        if expiry.duration_since(now) < window {
            return Err(PacketError::ExpiresTooSoon);
        }
        prepare.set_expires_at(expiry);
        let send = self.client.send(
            &next.outgoing.endpoint,
            &next.outgoing.auth_token,
            prepare.encode(),
        );
        let reply = tokio::time::timeout(expiry.duration_since(now), send)
            .await
            .map_err(|_| PacketError::TimedOut)??;
        if let Reply::Fulfill(fulfill) = &reply
            && !fulfill.matches(prepare.execution_condition())
        {
            return Err(PacketError::WrongCondition);
        }
        Ok(reply)
    }
}
