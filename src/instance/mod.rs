//! One connector instance's state and the services that change it: assets, peers, routing,
//! liquidity, wallet addresses, payments' records (finished ones kept up to a bound, see
//! [`retention`]).
//!
//! Everything lives behind one mutex. Every operation is microseconds of pure work on the ledger
//! and a few maps, so a single lock keeps each operation atomic (no two withdrawals can both spend
//! the same liquidity) without measurable contention.

mod accounting;
mod alerts;
mod assets;
pub mod errors;
pub mod events;
pub mod history;
pub mod incoming_payments;
mod liquidity;
pub mod model;
pub mod outgoing_payments;
mod packets;
pub mod pagination;
mod peers;
pub mod quotes;
mod retention;
pub mod routing;
pub mod wallet_addresses;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::UNIX_EPOCH;

use uuid::Uuid;

use crate::ilp::Address;
use crate::ledger::LedgerTime;
use accounting::Accounting;

pub use errors::{AssetError, LiquidityError, PeerError};
pub use events::{EventType, EventTypeFilter, WebhookEvent};
pub use history::{
    AccountTransfers, PacketTotals, RECENT_PACKET_TRANSFERS, TransferRecord, TransferRecordKind,
    TransferRecordState,
};
pub use incoming_payments::{
    AmountInAsset, IncomingPacketRefusal, IncomingPayment, IncomingPaymentError,
    IncomingPaymentState, NewIncomingPayment,
};
pub use model::{
    Asset, HttpOutgoing, HttpUpdate, LinkCounters, LocalAccount, NewAsset, NewPeer, PacketSource,
    Peer, PeerUpdate, WithdrawalMode,
};
pub use outgoing_payments::{
    NewOutgoingPayment, OutgoingPayment, OutgoingPaymentError, OutgoingPaymentState, SendingOutcome,
};
pub use pagination::{Page, PageRequest, PaginationError, SortOrder};
pub use quotes::{FixedAmount, Quote, QuoteStoreError, QuotedPath};
pub use retention::SETTLED_RETENTION;
pub use routing::{Route, RoutingTable};
pub use wallet_addresses::{
    AdditionalProperty, NewWalletAddress, WalletAddress, WalletAddressError, WalletAddressUpdate,
};

/// Settings of an instance that its services need.
#[derive(Debug, Clone)]
pub struct InstanceSettings {
    pub ilp_address: Address,
    pub instance_name: String,
    /// `OPEN_PAYMENTS_URL`: wallet addresses are URLs under it.
    pub open_payments_url: url::Url,
}

/// A connector instance's in-memory state and services.
#[derive(Debug)]
pub struct Instance {
    settings: InstanceSettings,
    state: Mutex<State>,
    /// This instance's wall clock, which its packet path and the payments it sends read (a
    /// clock-skew fault shifts it).
    clock: crate::clock::Clock,
}

#[derive(Debug, Default)]
struct State {
    /// The ledger and the bounded view of its transfers that the admin API reads.
    accounting: Accounting,
    /// Assets in creation order (deleted ones stay, flagged, so they can be re-activated).
    assets: Vec<Asset>,
    peers: Peers,
    /// SHA-256 of each incoming token -> the peer that presents it.
    incoming_tokens: HashMap<[u8; 32], Uuid>,
    routing: RoutingTable,
    wallet_addresses: wallet_addresses::WalletAddresses,
    incoming_payments: incoming_payments::IncomingPayments,
    events: events::EventLog,
    /// What the low-liquidity and web monetization events remember between transfers.
    balance_watch: alerts::BalanceWatch,
    quotes: quotes::Quotes,
    outgoing_payments: outgoing_payments::OutgoingPayments,
    /// How many settled records of each kind are kept (see [`retention`]).
    settled_limit: retention::SettledLimit,
    next_ledger: u32,
}

/// Peers by id, and the order they were created in (for pages). Shared as `Arc`s, so the packet
/// path reads a peer without copying it.
#[derive(Debug, Default)]
struct Peers {
    by_id: HashMap<Uuid, Arc<Peer>>,
    order: Vec<Uuid>,
}

impl Peers {
    fn get(&self, id: Uuid) -> Option<&Arc<Peer>> {
        self.by_id.get(&id)
    }

    /// In creation order.
    fn iter(&self) -> impl Iterator<Item = &Arc<Peer>> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }

    fn insert(&mut self, peer: Arc<Peer>) {
        if self.by_id.insert(peer.id, peer.clone()).is_none() {
            self.order.push(peer.id);
        }
    }

    fn remove(&mut self, id: Uuid) -> Option<Arc<Peer>> {
        let peer = self.by_id.remove(&id)?;
        self.order.retain(|other| *other != id);
        Some(peer)
    }
}

impl State {
    /// Brings the ledger's clock to now, expiring what is due, before any read or write.
    fn tick(&mut self) {
        let expired = self.accounting.advance_clock(now());
        // An expired packet of a finished outgoing payment may have been its last in flight.
        for transfer in expired {
            self.outgoing_packet_ended(transfer.debit_account);
        }
    }
}

/// The ledger's clock: milliseconds since the Unix epoch.
fn now() -> LedgerTime {
    let millis = crate::clock::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    LedgerTime(millis)
}

impl Instance {
    pub fn new(settings: InstanceSettings) -> Self {
        Self {
            settings,
            state: Mutex::new(State::default()),
            clock: crate::clock::Clock::default(),
        }
    }

    /// An instance that keeps `settled_retention` settled records of each kind (incoming
    /// payments, outgoing payments, quotes) rather than [`SETTLED_RETENTION`]: tests drive a few
    /// times the retention through it without driving tens of thousands of payments.
    pub fn with_settled_retention(settings: InstanceSettings, settled_retention: usize) -> Self {
        Self {
            settings,
            state: Mutex::new(State {
                settled_limit: retention::SettledLimit(settled_retention),
                ..State::default()
            }),
            clock: crate::clock::Clock::default(),
        }
    }

    pub fn settings(&self) -> &InstanceSettings {
        &self.settings
    }

    /// The wall clock of this instance: its packet path's expiry decisions, its STREAM receiver
    /// and the STREAM sender of its outgoing payments read it.
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    /// The state, with the ledger's clock brought up to date. A poisoned lock means a panic while
    /// the state was held; the state itself is still consistent (every operation validates before
    /// it writes), so it is used as is.
    fn lock(&self) -> MutexGuard<'_, State> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.tick();
        state
    }

    /// Runs the ledger's invariant audit on the current state.
    pub fn audit(&self) -> Result<(), crate::ledger::Violation> {
        self.lock().accounting.audit()
    }
}

/// Parses a client-supplied entity id; anything that is not a UUID simply names nothing.
fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::try_parse(id.trim()).ok()
}

/// u128 balances are kept reportable as u64 by the ledger; saturate rather than wrap regardless.
fn reportable(balance: u128) -> u64 {
    u64::try_from(balance).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
