//! A packet's path through an instance: one function from (incoming peer, Prepare) to Fulfill or
//! Reject, in Rafiki's middleware order (reference/rafiki.md §4.2). The HTTP server, the tests and
//! the simulator all call [`Connector::handle_prepare`].

use crate::clock::Instant;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::client::OutgoingClient;
use super::dedup::{Deduplicator, Seen};
use super::errors::PacketError;
use super::rate_limit::RateLimiter;
use super::rates::{AssetUnit, ConversionError, ExchangeRates, RateSource};
use super::stats::{LinkStats, PacketStats};
use crate::ilp::ildcp::{ILDCP_DESTINATION, is_ildcp_request};
use crate::ilp::stream::ServerSecret;
use crate::ilp::{Prepare, Reply, Scheme, Timestamp};
use crate::instance::{
    IncomingPacketRefusal, IncomingPaymentState, Instance, LiquidityError, PacketSource, Peer,
};
use crate::ledger::TransferId;
use crate::stream::receiver::Recognised;
use crate::stream::{ReceiveError, ReceiveTarget, StreamReceiver};

/// Rafiki's `minExpirationWindow`: taken off each forwarded packet's expiry.
pub const MIN_EXPIRY_WINDOW: Duration = Duration::from_secs(1);
/// Rafiki's `maxHoldWindow`: the longest it waits for a next hop's reply.
pub const MAX_HOLD: Duration = Duration::from_secs(30);
/// How long a packet's pending transfer outlives its hold, so that a reply arriving at the very
/// end of the hold never finds the transfer lapsed (the reservation is posted or voided as soon
/// as the reply, or the hold's end, comes; this margin only covers scheduling).
const PENDING_TRANSFER_MARGIN: Duration = Duration::from_secs(1);

/// How a connector treats packets.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// Time taken off each packet's expiry for the next hop, and the least it must have left
    /// (Rafiki's `minExpirationWindow`).
    pub min_expiry_window: Duration,
    /// The longest this connector holds a packet (and its liquidity) waiting for a reply:
    /// forwarded packets expire at `min(expiresAt - min_expiry_window, now + max_hold)`, as in
    /// Rafiki (30 s there, whatever its two-phase timeout).
    pub max_hold: Duration,
    /// `TWO_PHASE_TIMEOUT_SECONDS`: the least time a packet's pending transfer may stay pending.
    /// A packet held longer gets a transfer that lasts its hold plus a margin, so a receiver may
    /// take up to `max_hold`, as through Rafiki.
    pub pending_transfer_timeout: Duration,
    /// Packets per second accepted from each peer; `None` means no limit.
    pub rate_limit_per_second: Option<u32>,
    /// Rates for packets leaving in another asset than they came in.
    pub exchange_rates: RateSource,
    /// `STREAM_SECRET`: this instance's receiving addresses derive from it.
    pub stream_secret: ServerSecret,
}

impl ConnectorSettings {
    pub fn new(two_phase_timeout: Duration) -> Self {
        Self {
            min_expiry_window: MIN_EXPIRY_WINDOW,
            max_hold: MAX_HOLD,
            pending_transfer_timeout: two_phase_timeout,
            rate_limit_per_second: None,
            exchange_rates: RateSource::None,
            stream_secret: ServerSecret::random(),
        }
    }

    /// How long the pending transfer of a packet held for `hold` must last.
    fn pending_transfer_timeout_for(&self, hold: Duration) -> Duration {
        self.pending_transfer_timeout
            .max(hold.saturating_add(PENDING_TRANSFER_MARGIN))
    }
}

/// An instance's connector.
#[derive(Debug)]
pub struct Connector {
    instance: Arc<Instance>,
    client: OutgoingClient,
    settings: ConnectorSettings,
    rate_limiter: Option<RateLimiter>,
    rates: ExchangeRates,
    receiver: StreamReceiver,
    stats: PacketStats,
    /// Prepares from peers seen and their replies, so a copy is answered, not processed again.
    dedup: Deduplicator,
}

/// Where a packet goes after route lookup.
enum Hop {
    /// Answered here: an IL-DCP request.
    Ildcp,
    /// Answered here: a STREAM packet for one of this instance's receiving addresses.
    Receive(Recognised),
    Peer(Arc<Peer>),
}

/// A packet's reservation of liquidity: none for a zero-amount packet, one transfer within an
/// asset, two across assets. Whatever happens to the packet, the reservation is posted or voided
/// right away, even if the request that carried it is abandoned midway (dropping it voids it):
/// liquidity is never held hostage until the pending transfers lapse.
struct Reservation<'a> {
    instance: &'a Instance,
    ids: [Option<TransferId>; 2],
}

impl Reservation<'_> {
    fn settle(mut self, fulfilled: bool) -> Result<(), PacketError> {
        if !fulfilled && crate::planted::drops_this_void() {
            // The planted bug: the reservation is forgotten, not voided (see crate::planted).
            self.ids = [None, None];
            return Ok(());
        }
        for id in self.ids.iter_mut().filter_map(Option::take) {
            self.instance
                .settle_packet(id, fulfilled)
                .map_err(|e| PacketError::Internal(format!("settling {id}: {e}")))?;
        }
        Ok(())
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        for id in self.ids.iter_mut().filter_map(Option::take) {
            let _ = self.instance.settle_packet(id, false);
        }
    }
}

impl Connector {
    pub fn new(instance: Arc<Instance>, settings: ConnectorSettings) -> Self {
        Self {
            rate_limiter: settings.rate_limit_per_second.map(RateLimiter::new),
            rates: ExchangeRates::new(settings.exchange_rates.clone()),
            receiver: StreamReceiver::new(settings.stream_secret.clone()),
            instance,
            client: OutgoingClient::default(),
            settings,
            stats: PacketStats::default(),
            dedup: Deduplicator::default(),
        }
    }

    /// The packets handled so far, by source and outcome.
    pub fn stats(&self) -> &PacketStats {
        &self.stats
    }

    /// Per incoming peer (link), in the peers' creation order: the packets it sent that were
    /// fulfilled and rejected so far. A deleted peer's counts go with it.
    pub fn links(&self) -> Vec<LinkStats> {
        self.instance
            .peers()
            .iter()
            .map(|peer| {
                let (fulfilled, rejected) = peer.packets_received();
                LinkStats {
                    peer_id: peer.id,
                    fulfilled,
                    rejected,
                }
            })
            .collect()
    }

    pub fn instance(&self) -> &Arc<Instance> {
        &self.instance
    }

    /// The STREAM receiver whose addresses this connector answers (SPSP hands them out).
    pub fn receiver(&self) -> &StreamReceiver {
        &self.receiver
    }

    /// Handles a Prepare from the peer `from`. Every failure here becomes a Reject triggered by
    /// this instance's address; Rejects from further on are passed back unchanged.
    pub async fn handle_prepare(&self, from: &Peer, prepare: Prepare) -> Reply {
        self.handle_prepare_from(from.as_source(), prepare).await
    }

    /// [`Connector::handle_prepare`] for any source: a peer, or a local account paying out.
    ///
    /// A Prepare a peer sent before (the same packet again: a link duplicating it, or the peer
    /// retrying because the reply was lost) gets the first copy's reply, waiting for it while the
    /// first is under way, and is processed once. A local account's packets come from this
    /// instance's own sender, which never sends one twice, so they skip that bookkeeping.
    pub async fn handle_prepare_from(&self, from: PacketSource<'_>, prepare: Prepare) -> Reply {
        if from.local {
            return self.handle_once(from, prepare).await;
        }
        loop {
            let now = Timestamp::now_on(self.instance.clock());
            match self.dedup.begin(from.id, &prepare, now) {
                Seen::First(first) => {
                    let reply = self.handle_once(from, prepare).await;
                    first.finish(&reply);
                    return reply;
                }
                Seen::Duplicate(duplicate) => {
                    if let Some(reply) = duplicate.reply().await {
                        return reply;
                    }
                    // The first copy was abandoned unanswered: this one is processed instead.
                }
            }
        }
    }

    /// Processes a Prepare and counts its outcome.
    async fn handle_once(&self, from: PacketSource<'_>, prepare: Prepare) -> Reply {
        let started = Instant::now();
        let amount = prepare.amount();
        let reply = match self.process(from, prepare).await {
            Ok(reply) => reply,
            Err(error) => Reply::Reject(error.to_reject(&self.instance.settings().ilp_address)),
        };
        self.stats.record(from, amount, &reply, started.elapsed());
        reply
    }

    async fn process(
        &self,
        from: PacketSource<'_>,
        prepare: Prepare,
    ) -> Result<Reply, PacketError> {
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
            Hop::Receive(recognised) => return self.receive(from, &prepare, recognised).await,
            Hop::Peer(next) => next,
        };
        // The forwarded expiry is known before the liquidity is reserved, so that the pending
        // transfer lasts the whole hold; a packet with too little time is still refused R02 only
        // after the balance check, in Rafiki's order (balance before reduce-expiry).
        let now = Timestamp::now_on(self.instance.clock());
        let expiry = self.forwarded_expiry(&prepare, now);
        let hold = expiry
            .as_ref()
            .map_or(Duration::ZERO, |expiry| expiry.duration_since(now));
        let outgoing_amount = self
            .outgoing_amount(from, &next, prepare.amount(), prepare.expires_at())
            .await?;
        let reservation = self.reserve(from, &next, prepare.amount(), outgoing_amount, hold)?;
        let outcome = match expiry {
            Ok(expiry) => {
                self.forward(&next, prepare, outgoing_amount, now, expiry)
                    .await
            }
            Err(error) => Err(error),
        };
        let fulfilled = matches!(outcome, Ok(Reply::Fulfill(_)));
        reservation.settle(fulfilled)?;
        outcome
    }

    fn route(&self, from: PacketSource<'_>, prepare: &Prepare) -> Result<Hop, PacketError> {
        let destination = prepare.destination();
        if destination.scheme() == Scheme::Peer {
            // IL-DCP is answered whatever the routes (Rafiki answers it only when a route covers
            // `peer.config`); any other `peer.*` address is unknown, as in Rafiki, whose routes
            // never cover them.
            if destination.as_str() == ILDCP_DESTINATION {
                return Ok(Hop::Ildcp);
            }
            return Err(PacketError::UnknownDestination(destination.to_string()));
        }
        if let Some(recognised) = self
            .receiver
            .recognise(&self.instance.settings().ilp_address, destination)
        {
            return Ok(Hop::Receive(recognised));
        }
        self.instance
            .next_hop(from, destination)
            .map(Hop::Peer)
            .ok_or_else(|| PacketError::UnknownDestination(destination.to_string()))
    }

    /// Answers a packet for one of this instance's receiving addresses, as a STREAM receiver:
    /// Fulfill (crediting the wallet address, converted into its asset) when the condition is the
    /// connection's and at least what the sender asked for arrived; otherwise F99 with the
    /// encrypted STREAM reply. Zero-amount packets with the right condition are fulfilled and
    /// move nothing. Money for a completed or expired incoming payment is refused F02 as Rafiki
    /// refuses it, crediting nothing; a packet that takes one past its `incomingAmount` is
    /// credited and completes it, as Rafiki's receiver does.
    async fn receive(
        &self,
        from: PacketSource<'_>,
        prepare: &Prepare,
        recognised: Recognised,
    ) -> Result<Reply, PacketError> {
        let own_address = &self.instance.settings().ilp_address;
        let opened = recognised.open(prepare).map_err(PacketError::Receive)?;
        let unknown = || PacketError::Receive(ReceiveError::UnknownToken);
        let (wallet, payment_id) = match opened.target {
            ReceiveTarget::WalletAddress(wallet_id) => {
                let wallet = self
                    .instance
                    .wallet_address_by_id(wallet_id)
                    .filter(|wallet| wallet.active)
                    .ok_or_else(unknown)?;
                (wallet, None)
            }
            ReceiveTarget::IncomingPayment(payment_id) => {
                let (payment, wallet) = self
                    .instance
                    .incoming_payment_receiver(payment_id)
                    .map_err(|_| unknown())?;
                // As Rafiki: money for a closed payment is refused before the receiver answers;
                // a zero-amount packet still reaches it.
                let closed = matches!(
                    payment.state,
                    IncomingPaymentState::Completed | IncomingPaymentState::Expired
                );
                if closed && prepare.amount() > 0 {
                    return Err(PacketError::IncomingPaymentClosed);
                }
                (wallet, Some(payment_id))
            }
        };
        let asset = self
            .instance
            .asset_including_deleted(wallet.asset_id)
            .ok_or_else(|| PacketError::Internal(format!("no asset {}", wallet.asset_id)))?;
        let arrived = self
            .convert(
                prepare.amount(),
                from.asset_id,
                wallet.asset_id,
                prepare.expires_at(),
            )
            .await?;
        let reply_asset = (asset.code.as_str(), asset.scale);
        let refuse = || {
            Ok(Reply::Reject(opened.reject(
                own_address,
                arrived,
                reply_asset,
            )))
        };
        if !opened.accepts(arrived) {
            return refuse();
        }
        let now = Timestamp::now_on(self.instance.clock());
        if prepare.expires_at() < now {
            return Err(PacketError::AlreadyExpired {
                source_expiry: prepare.expires_at(),
                now,
            });
        }
        // A rate probe is never fulfilled, whatever its condition: nothing was reserved for it.
        if from.unfulfillable || !self.receiver.first_fulfillment(prepare, now) {
            return refuse();
        }
        let fulfill = opened
            .fulfill(arrived, reply_asset)
            .ok_or_else(|| PacketError::Internal("fulfillment vanished".to_owned()))?;
        let liquidity_error = |error: LiquidityError| match error {
            LiquidityError::InsufficientBalance | LiquidityError::BalanceOverflow => {
                PacketError::InsufficientLiquidity
            }
            error => PacketError::Internal(format!("crediting {}: {error}", wallet.id)),
        };
        match payment_id {
            Some(payment_id) => {
                // Checked and credited under one lock: two packets racing for the last of an
                // incoming amount cannot both be credited.
                match self.instance.receive_incoming_payment_packet(
                    from,
                    payment_id,
                    prepare.amount(),
                    arrived,
                ) {
                    Ok(_) => {}
                    Err(IncomingPacketRefusal::Liquidity(error)) => {
                        return Err(liquidity_error(error));
                    }
                    // Closed since it was looked up (another packet completed it, or it expired).
                    Err(IncomingPacketRefusal::Closed(_)) => {
                        return Err(PacketError::IncomingPaymentClosed);
                    }
                    Err(
                        IncomingPacketRefusal::Unknown | IncomingPacketRefusal::ExceedsRemaining,
                    ) => {
                        return refuse();
                    }
                }
            }
            None if prepare.amount() > 0 => {
                self.instance
                    .receive_packet(from, &wallet, prepare.amount(), arrived)
                    .map_err(liquidity_error)?;
            }
            None => {}
        }
        Ok(Reply::Fulfill(fulfill))
    }

    fn ildcp(&self, from: PacketSource<'_>, prepare: &Prepare) -> Result<Reply, PacketError> {
        if !is_ildcp_request(prepare) {
            return Err(PacketError::InvalidPacket(
                "condition must be peer protocol condition.",
            ));
        }
        let response = self
            .instance
            .ildcp_response(from)
            .ok_or_else(|| PacketError::Internal(format!("no asset for account {}", from.id)))?;
        Ok(Reply::Fulfill(response.to_fulfill()))
    }

    /// What the packet is worth in the next hop's asset: the same amount within an asset,
    /// converted (rounded down) across assets, as Rafiki's balance middleware converts it.
    async fn outgoing_amount(
        &self,
        from: PacketSource<'_>,
        next: &Peer,
        amount: u64,
        deadline: Timestamp,
    ) -> Result<u64, PacketError> {
        self.convert(amount, from.asset_id, next.asset_id, deadline)
            .await
    }

    /// `amount` of one asset in another: unchanged within an asset, else converted (rounded
    /// down) as Rafiki's balance middleware converts it. Fetching rates waits no longer than
    /// `deadline`, the packet's own expiry (R00 past it).
    async fn convert(
        &self,
        amount: u64,
        from: Uuid,
        to: Uuid,
        deadline: Timestamp,
    ) -> Result<u64, PacketError> {
        if amount == 0 || from == to {
            return Ok(amount);
        }
        let asset = |id: Uuid| {
            self.instance
                .asset_including_deleted(id)
                .ok_or_else(|| PacketError::Internal(format!("no asset {id}")))
        };
        let (source, destination) = (asset(from)?, asset(to)?);
        let left = deadline.duration_since(Timestamp::now_on(self.instance.clock()));
        let conversion = self.rates.convert(
            amount,
            AssetUnit {
                code: &source.code,
                scale: source.scale,
            },
            AssetUnit {
                code: &destination.code,
                scale: destination.scale,
            },
        );
        let converted = tokio::time::timeout(left, conversion)
            .await
            .map_err(|_| PacketError::TimedOut)?
            .map_err(|error| match error {
                ConversionError::NoRate => PacketError::NoExchangeRate,
                ConversionError::TooLarge { maximum } => PacketError::AmountTooLarge {
                    received: amount,
                    maximum,
                },
                ConversionError::Unavailable(detail) => PacketError::Internal(detail),
            })?;
        if converted == 0 {
            return Err(PacketError::ConvertsToZero);
        }
        Ok(converted)
    }

    /// Reserves the packet's amount from the incoming peer's liquidity for the outgoing peer,
    /// pending for at least as long as the packet is held: one transfer within an asset; across
    /// assets one in each (into the source asset's liquidity, out of the destination asset's),
    /// as Rafiki's accounting does. Zero-amount packets (STREAM probes) move nothing, as in
    /// Rafiki.
    fn reserve(
        &self,
        from: PacketSource<'_>,
        next: &Peer,
        amount: u64,
        outgoing_amount: u64,
        hold: Duration,
    ) -> Result<Reservation<'_>, PacketError> {
        let mut reservation = Reservation {
            instance: &self.instance,
            ids: [None, None],
        };
        // Rate probes reserve nothing: they cannot be fulfilled (as Rafiki's quote probes).
        if amount == 0 || from.unfulfillable {
            return Ok(reservation);
        }
        let timeout = self.settings.pending_transfer_timeout_for(hold);
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let reserved = if from.asset_id == next.asset_id {
            self.instance
                .reserve_packet(from.id, next.id, amount, timeout_ms)
                .map(|id| [Some(id), None])
        } else {
            self.instance
                .reserve_exchange(from, next, amount, outgoing_amount, timeout_ms)
                .map(|[incoming, outgoing]| [Some(incoming), Some(outgoing)])
        };
        match reserved {
            Ok(ids) => {
                reservation.ids = ids;
                Ok(reservation)
            }
            Err(LiquidityError::InsufficientBalance | LiquidityError::BalanceOverflow) => {
                Err(PacketError::InsufficientLiquidity)
            }
            Err(error) => Err(PacketError::Internal(format!(
                "reserving {amount}: {error}"
            ))),
        }
    }

    /// The expiry of the packet sent on, as Rafiki's reduce-expiry middleware computes it:
    /// `min(expiresAt - min_expiry_window, now + max_hold)`, refused R02 when the packet has
    /// already expired or would leave the next hop less than `min_expiry_window`.
    fn forwarded_expiry(
        &self,
        prepare: &Prepare,
        now: Timestamp,
    ) -> Result<Timestamp, PacketError> {
        let source_expiry = prepare.expires_at();
        if source_expiry < now {
            return Err(PacketError::AlreadyExpired { source_expiry, now });
        }
        let window = self.settings.min_expiry_window;
        let expiry = source_expiry
            .saturating_sub(window)
            .min(now.saturating_add(self.settings.max_hold));
        if expiry < now.saturating_add(window) {
            return Err(PacketError::ExpiresTooSoon {
                source_expiry,
                required: now.saturating_add(window.saturating_mul(2)),
                now,
            });
        }
        Ok(expiry)
    }

    /// Sends the packet on with its shortened expiry, waits no longer than that expiry, and
    /// checks a Fulfill against the condition.
    async fn forward(
        &self,
        next: &Peer,
        mut prepare: Prepare,
        amount: u64,
        now: Timestamp,
        expiry: Timestamp,
    ) -> Result<Reply, PacketError> {
        prepare.set_expires_at(expiry);
        prepare.set_amount(amount);
        let hold = expiry.duration_since(now);
        let send = self.client.send_prepare(
            &next.outgoing.endpoint,
            &next.outgoing.auth_token,
            &prepare,
            Instant::now() + hold,
        );
        let reply = tokio::time::timeout(hold, send)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hold_is_rafikis_thirty_seconds_whatever_the_two_phase_timeout() {
        for two_phase in [1, 5, 30, 120] {
            let settings = ConnectorSettings::new(Duration::from_secs(two_phase));
            assert_eq!(settings.max_hold, Duration::from_secs(30), "{two_phase}");
            assert_eq!(settings.min_expiry_window, Duration::from_secs(1));
        }
    }

    #[test]
    fn a_packets_transfer_lasts_its_hold_and_at_least_the_two_phase_timeout() {
        let default = ConnectorSettings::new(Duration::from_secs(5));
        let seconds = |s| Duration::from_secs(s);
        assert_eq!(default.pending_transfer_timeout_for(seconds(0)), seconds(5));
        assert_eq!(default.pending_transfer_timeout_for(seconds(3)), seconds(5));
        assert_eq!(
            default.pending_transfer_timeout_for(seconds(14)),
            seconds(15)
        );
        assert_eq!(
            default.pending_transfer_timeout_for(seconds(30)),
            seconds(31)
        );
        let long = ConnectorSettings::new(seconds(60));
        assert_eq!(long.pending_transfer_timeout_for(seconds(30)), seconds(60));
    }
}
