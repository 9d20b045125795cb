//! The STREAM receiver (RFC 29) that answers, inside the packet path, packets addressed to this
//! instance's receiving addresses.
//!
//! Nothing is kept per connection: a receiving address is this instance's address plus a token
//! sealed with the instance's `STREAM_SECRET`, and the token carries what the money is for (a
//! wallet address) as its connection tag. A packet is recognised, and its shared secret derived,
//! from its destination alone.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use thiserror::Error;
use uuid::Uuid;

use crate::ilp::packet::PacketType;
use crate::ilp::stream::{
    ConnectionDetails, Frame, IncomingConnection, ServerSecret, SharedSecret, StreamPacket,
    TokenError,
};
use crate::ilp::{Address, ErrorCode, Fulfill, Prepare, Reject, Timestamp};

/// What money sent to a receiving address is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveTarget {
    /// SPSP: the wallet address's own account.
    WalletAddress(Uuid),
    /// Open Payments: an incoming payment (credited to the payment's own account, and counted in
    /// its `receivedAmount`).
    IncomingPayment(Uuid),
}

impl ReceiveTarget {
    const WALLET_ADDRESS: &'static str = "wallet-address:";
    const INCOMING_PAYMENT: &'static str = "incoming-payment:";

    fn tag(self) -> Vec<u8> {
        match self {
            Self::WalletAddress(id) => format!("{}{id}", Self::WALLET_ADDRESS).into_bytes(),
            Self::IncomingPayment(id) => format!("{}{id}", Self::INCOMING_PAYMENT).into_bytes(),
        }
    }

    fn from_tag(tag: &[u8]) -> Option<Self> {
        let tag = std::str::from_utf8(tag).ok()?;
        if let Some(id) = tag.strip_prefix(Self::WALLET_ADDRESS) {
            return Uuid::try_parse(id).ok().map(Self::WalletAddress);
        }
        let id = tag.strip_prefix(Self::INCOMING_PAYMENT)?;
        Uuid::try_parse(id).ok().map(Self::IncomingPayment)
    }
}

/// Where and how to pay a receiving address: what SPSP hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivingAddress {
    pub destination: Address,
    pub shared_secret: SharedSecret,
}

impl ReceivingAddress {
    /// The shared secret as SPSP sends it: standard base64, padded.
    pub fn shared_secret_base64(&self) -> String {
        STANDARD.encode(self.shared_secret.as_bytes())
    }

    /// The shared secret as an incoming payment's `ilp` method carries it: base64url, unpadded,
    /// as Rafiki encodes it there.
    pub fn shared_secret_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.shared_secret.as_bytes())
    }
}

/// A packet for a receiving address that cannot be answered with STREAM data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiveError {
    /// A token for a wallet address that is gone or inactive: F02 with an empty message, as the
    /// JS receiver answers (deliberately uninformative).
    #[error("")]
    UnknownToken,
    /// The data is not a STREAM Prepare sealed with the connection's shared secret: F06.
    #[error("")]
    Undecryptable,
}

impl ReceiveError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownToken => ErrorCode::F02Unreachable,
            Self::Undecryptable => ErrorCode::F06UnexpectedPayment,
        }
    }
}

/// How many fulfilled packets the receiver remembers to refuse their replays.
const REMEMBERED_PACKETS: usize = 1 << 17;

/// An instance's STREAM receiver.
#[derive(Clone)]
pub struct StreamReceiver {
    secret: ServerSecret,
    fulfilled: Arc<Mutex<FulfilledPackets>>,
}

/// Conditions of the packets fulfilled lately, each until its Prepare expires (after which a
/// replay is refused for its expiry anyway), at most [`REMEMBERED_PACKETS`]. An honest sender
/// never sends a fulfilled packet again; a replay would credit the wallet address twice for one
/// payment, so it is refused.
#[derive(Debug, Default)]
struct FulfilledPackets {
    conditions: HashSet<[u8; 32]>,
    by_expiry: VecDeque<(Timestamp, [u8; 32])>,
}

impl FulfilledPackets {
    /// Records `condition`; false when it was already there.
    fn record(&mut self, condition: [u8; 32], expires_at: Timestamp, now: Timestamp) -> bool {
        while let Some(&(expiry, old)) = self.by_expiry.front() {
            if expiry >= now && self.by_expiry.len() < REMEMBERED_PACKETS {
                break;
            }
            self.by_expiry.pop_front();
            self.conditions.remove(&old);
        }
        if !self.conditions.insert(condition) {
            return false;
        }
        self.by_expiry.push_back((expires_at, condition));
        true
    }
}

impl fmt::Debug for StreamReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamReceiver(..)")
    }
}

/// A packet opened by the receiver: who it is for, what its sender asked, and how to answer.
#[derive(Debug)]
pub struct OpenedPacket {
    pub target: ReceiveTarget,
    pub request: StreamPacket,
    shared_secret: SharedSecret,
    /// Whether the Prepare's condition is the one this connection can fulfill (it is not for
    /// the sender's rate probes, whose conditions are random).
    fulfillment: Option<[u8; 32]>,
}

impl StreamReceiver {
    pub fn new(secret: ServerSecret) -> Self {
        Self {
            secret,
            fulfilled: Arc::default(),
        }
    }

    /// Records that the packet with `condition` is being fulfilled; false for a replay of one
    /// fulfilled before (refused with F99, nothing credited). `now` is the receiving instance's
    /// clock: a fulfilled packet is remembered until it expires by that clock.
    pub fn first_fulfillment(&self, prepare: &Prepare, now: Timestamp) -> bool {
        let mut fulfilled = self
            .fulfilled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        fulfilled.record(*prepare.execution_condition(), prepare.expires_at(), now)
    }

    /// A fresh receiving address under `own_address` for `target`, and its shared secret.
    pub fn receiving_address(
        &self,
        own_address: &Address,
        target: ReceiveTarget,
    ) -> Option<ReceivingAddress> {
        let credentials = self
            .secret
            .generate_credentials(&ConnectionDetails {
                connection_tag: target.tag(),
                receipt: None,
            })
            .ok()?;
        Some(ReceivingAddress {
            destination: own_address.with_suffix(&credentials.address_suffix).ok()?,
            shared_secret: credentials.shared_secret,
        })
    }

    /// The connection a destination under `own_address` names, when its token is one this
    /// instance made; `None` otherwise (the packet is then routed like any other, as Rafiki
    /// routes a destination that is not a STREAM address).
    pub fn recognise(&self, own_address: &Address, destination: &Address) -> Option<Recognised> {
        let IncomingConnection {
            shared_secret,
            details,
            ..
        } = self
            .secret
            .connection_for(own_address, destination)
            .map_err(|_: TokenError| ())
            .ok()?;
        Some(Recognised {
            target: ReceiveTarget::from_tag(&details.connection_tag)?,
            shared_secret,
        })
    }
}

/// A destination recognised as one of this instance's receiving addresses.
#[derive(Debug)]
pub struct Recognised {
    pub target: ReceiveTarget,
    shared_secret: SharedSecret,
}

impl Recognised {
    /// Opens the Prepare's STREAM packet: F06 when it is not a STREAM Prepare sealed with the
    /// connection's shared secret.
    pub fn open(self, prepare: &Prepare) -> Result<OpenedPacket, ReceiveError> {
        let request = StreamPacket::decrypt(&self.shared_secret, prepare.data())
            .map_err(|_| ReceiveError::Undecryptable)?;
        if request.ilp_packet_type != PacketType::Prepare {
            return Err(ReceiveError::Undecryptable);
        }
        let fulfillment = self.shared_secret.fulfillment(prepare.data());
        let fulfillable = Sha256::digest(fulfillment).as_slice() == prepare.execution_condition();
        Ok(OpenedPacket {
            target: self.target,
            request,
            fulfillment: fulfillable.then_some(fulfillment),
            shared_secret: self.shared_secret,
        })
    }
}

impl OpenedPacket {
    /// Whether the packet may be fulfilled once `arrived` (in the receiver's asset) is known:
    /// the condition is this connection's, the sender asked for no more than arrived, and it is
    /// not closing the connection.
    pub fn accepts(&self, arrived: u64) -> bool {
        let closing = self
            .request
            .frames
            .iter()
            .any(|frame| matches!(frame, Frame::ConnectionClose { .. }));
        self.fulfillment.is_some() && arrived >= self.request.prepare_amount && !closing
    }

    /// The frames of the reply: the receiver's asset when the sender sent its address (or asks
    /// for asset details with an empty one), as Rafiki's receiver answers.
    fn reply_frames(&self, asset_code: &str, asset_scale: u8) -> Vec<Frame> {
        let asks_for_details = self
            .request
            .frames
            .iter()
            .any(|frame| matches!(frame, Frame::ConnectionNewAddress { .. }));
        if asks_for_details {
            vec![Frame::ConnectionAssetDetails {
                source_asset_code: asset_code.to_owned(),
                source_asset_scale: asset_scale,
            }]
        } else {
            Vec::new()
        }
    }

    fn reply(&self, packet_type: PacketType, arrived: u64, asset: (&str, u8)) -> Vec<u8> {
        StreamPacket {
            sequence: self.request.sequence,
            ilp_packet_type: packet_type,
            prepare_amount: arrived,
            frames: self.reply_frames(asset.0, asset.1),
        }
        .encrypt(&self.shared_secret)
    }

    /// The Fulfill, carrying the encrypted STREAM reply. `None` when the condition is not this
    /// connection's (check [`OpenedPacket::accepts`] first).
    pub fn fulfill(&self, arrived: u64, asset: (&str, u8)) -> Option<Fulfill> {
        let fulfillment = self.fulfillment?;
        Fulfill::new(fulfillment, self.reply(PacketType::Fulfill, arrived, asset)).ok()
    }

    /// F99 with the encrypted STREAM reply (what arrived, the receiver's asset), triggered by
    /// `own_address`, empty message: the sender reads the reply, not the message.
    pub fn reject(&self, own_address: &Address, arrived: u64, asset: (&str, u8)) -> Reject {
        Reject::truncated(
            ErrorCode::F99ApplicationError,
            Some(own_address.clone()),
            "",
            self.reply(PacketType::Reject, arrived, asset),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fulfilled_packet_is_remembered_until_it_expires() {
        let mut fulfilled = FulfilledPackets::default();
        let now = Timestamp::now();
        let later = now.saturating_add(std::time::Duration::from_secs(30));
        assert!(fulfilled.record([1; 32], later, now));
        assert!(!fulfilled.record([1; 32], later, now));
        assert!(fulfilled.record([2; 32], now, now));
        // Once expired it is forgotten: its Prepare would be refused for its expiry anyway.
        let after = later.saturating_add(std::time::Duration::from_secs(1));
        assert!(fulfilled.record([3; 32], after, after));
        assert_eq!(fulfilled.conditions.len(), 1);
    }

    #[test]
    fn tags_name_wallet_addresses_and_incoming_payments_and_nothing_else() {
        let id = Uuid::new_v4();
        let target = ReceiveTarget::WalletAddress(id);
        assert_eq!(ReceiveTarget::from_tag(&target.tag()), Some(target));
        let payment = ReceiveTarget::IncomingPayment(id);
        assert_eq!(payment.tag(), format!("incoming-payment:{id}").into_bytes());
        assert_eq!(ReceiveTarget::from_tag(&payment.tag()), Some(payment));
        assert_eq!(ReceiveTarget::from_tag(b"incoming-payment:nope"), None);
        assert_eq!(ReceiveTarget::from_tag(b"wallet-address:nope"), None);
        assert_eq!(ReceiveTarget::from_tag(id.to_string().as_bytes()), None);
        assert_eq!(ReceiveTarget::from_tag(&[0xff, 0xfe]), None);
    }
}
