//! The entities an instance keeps: assets and peers.

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
}

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
        }
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
