//! The entities an instance keeps: assets and peers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use uuid::Uuid;

use crate::ilp::Address;
use crate::ledger::{AccountId, LedgerId};

/// An asset (currency) the instance deals in. Its liquidity account's id is the asset's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub id: Uuid,
    pub code: String,
    pub scale: u8,
    pub ledger: LedgerId,
    pub withdrawal_threshold: Option<u64>,
    pub liquidity_threshold: Option<u64>,
    pub created_at: SystemTime,
    pub(crate) settlement_account: AccountId,
    pub(crate) deleted: bool,
}

/// Where and how this instance sends packets to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOutgoing {
    pub endpoint: String,
    pub auth_token: String,
}

/// A peer: a counterparty connector, in one asset. Its liquidity account's id is the peer's id.
/// The tokens it presents to us are kept only as SHA-256 digests and are never readable back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub id: Uuid,
    pub asset_id: Uuid,
    pub static_ilp_address: Address,
    pub name: Option<String>,
    pub max_packet_amount: Option<u64>,
    pub liquidity_threshold: Option<u64>,
    pub outgoing: HttpOutgoing,
    /// Address prefixes routed to this peer; the static address is always first.
    pub routes: Vec<String>,
    pub created_at: SystemTime,
    pub(crate) incoming_token_digests: Vec<[u8; 32]>,
    /// How the packets this peer sent us ended. Shared by every version of the peer (an update
    /// clones the `Arc`), so counts survive edits and go when the peer is deleted.
    pub(crate) link: LinkCounters,
}

/// The packets that came in from one peer, fulfilled and rejected: two relaxed atomic
/// increments on the packet path, kept with the peer (which the path already holds), so counting
/// takes no lock and allocates nothing per packet.
#[derive(Debug, Clone, Default)]
pub struct LinkCounters(Arc<LinkCounts>);

#[derive(Debug, Default)]
struct LinkCounts {
    fulfilled: AtomicU64,
    rejected: AtomicU64,
}

impl LinkCounters {
    /// Counts one packet from the peer.
    pub fn count(&self, fulfilled: bool) {
        let counter = if fulfilled {
            &self.0.fulfilled
        } else {
            &self.0.rejected
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (fulfilled, rejected) so far.
    pub fn read(&self) -> (u64, u64) {
        (
            self.0.fulfilled.load(Ordering::Relaxed),
            self.0.rejected.load(Ordering::Relaxed),
        )
    }
}

/// Counters are the same when they count the same link: a peer and its updated version share
/// theirs, two peers never do (whatever the counts happen to be).
impl PartialEq for LinkCounters {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LinkCounters {}

/// Where a packet comes from, as the packet path sees it: the ledger account it debits, that
/// account's asset, the largest packet taken from it, and the address IL-DCP gives it. A peer is
/// one; so is a local account paying out (an outgoing payment, a quote's rate probes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSource<'a> {
    /// The ledger account debited: the peer's id, or the local account's.
    pub id: Uuid,
    pub asset_id: Uuid,
    pub max_packet_amount: Option<u64>,
    pub address: &'a Address,
    /// Rate probes only: nothing is reserved from the account and nothing may be fulfilled, as
    /// Rafiki forwards its quotes' unfulfillable packets without accounting.
    pub unfulfillable: bool,
    /// A local account paying out (this instance sends the packet), not a peer.
    pub local: bool,
    /// Where the packet's outcome is counted per link: the peer's counters; `None` for a local
    /// account.
    pub link: Option<&'a LinkCounters>,
}

impl Peer {
    /// The peer as the source of the packets it sends us.
    pub fn as_source(&self) -> PacketSource<'_> {
        PacketSource {
            id: self.id,
            asset_id: self.asset_id,
            max_packet_amount: self.max_packet_amount,
            address: &self.static_ilp_address,
            unfulfillable: false,
            local: false,
            link: Some(&self.link),
        }
    }

    /// How the packets this peer sent us ended so far: (fulfilled, rejected).
    pub fn packets_received(&self) -> (u64, u64) {
        self.link.read()
    }
}

/// A local account that pays out through the packet path, owned: an outgoing payment's (its
/// packets debit it) or a wallet address's rate probes (unfulfillable, debiting nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAccount {
    pub id: Uuid,
    pub asset_id: Uuid,
    /// The address IL-DCP gives the sender: the instance's own.
    pub address: Address,
    pub unfulfillable: bool,
}

impl LocalAccount {
    pub fn as_source(&self) -> PacketSource<'_> {
        PacketSource {
            id: self.id,
            asset_id: self.asset_id,
            max_packet_amount: None,
            address: &self.address,
            unfulfillable: self.unfulfillable,
            local: true,
            link: None,
        }
    }
}

/// What `createAsset` takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAsset {
    pub code: String,
    pub scale: u8,
    pub withdrawal_threshold: Option<u64>,
    pub liquidity_threshold: Option<u64>,
}

/// What `createPeer` takes, as the client sent it (validated by the service).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPeer {
    pub static_ilp_address: String,
    pub name: Option<String>,
    pub asset_id: String,
    pub incoming_tokens: Vec<String>,
    pub outgoing_endpoint: String,
    pub outgoing_token: String,
    pub max_packet_amount: Option<u64>,
    pub liquidity_threshold: Option<u64>,
    pub initial_liquidity: Option<u64>,
    pub routes: Vec<String>,
}

/// New HTTP settings for a peer: the outgoing side is always replaced; the incoming tokens are
/// replaced when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUpdate {
    pub incoming_tokens: Option<Vec<String>>,
    pub outgoing_endpoint: String,
    pub outgoing_token: String,
}

/// What `updatePeer` takes: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerUpdate {
    pub id: String,
    pub static_ilp_address: Option<String>,
    pub name: Option<String>,
    pub http: Option<HttpUpdate>,
    pub max_packet_amount: Option<u64>,
    pub liquidity_threshold: Option<u64>,
    /// Extra routes; `Some(vec![])` clears them (the static address always stays).
    pub routes: Option<Vec<String>>,
}

/// How a withdrawal settles, from the admin API's `timeoutSeconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalMode {
    /// Absent: two-phase, pending until posted or voided.
    TwoPhase,
    /// 0: single-phase, posted at once.
    SinglePhase,
    /// N: two-phase, voided by expiry after N seconds unless posted or voided first.
    Expiring { seconds: u64 },
}

impl WithdrawalMode {
    pub fn from_timeout_seconds(timeout_seconds: Option<u64>) -> Self {
        match timeout_seconds {
            None => Self::TwoPhase,
            Some(0) => Self::SinglePhase,
            Some(seconds) => Self::Expiring { seconds },
        }
    }
}
