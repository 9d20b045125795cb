//! Incoming payments, as Rafiki keeps them: money a wallet address expects, optionally up to an
//! `incomingAmount`, until `expiresAt`. STREAM packets addressed to an incoming payment (its
//! receiving address's connection tag names it) are counted in `receivedAmount`.
//!
//! Money: Rafiki opens a ledger account per incoming payment. peerlab credits the wallet
//! address's own account instead (as SPSP does) and counts what each incoming payment received:
//! the money sits where the operator already withdraws it from (`createWalletAddressWithdrawal`),
//! no account is left behind per payment (they are bounded in number, accounts are not freed),
//! and the ledger's audit covers it unchanged. The count and the credit change under one lock, so
//! they cannot disagree.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use thiserror::Error;
use uuid::Uuid;

use super::pagination::{self, Page, PageRequest, PaginationError};
use super::{Instance, PacketSource, WalletAddress, parse_id};
use crate::instance::LiquidityError;
use crate::ledger::{AccountId, NewTransfer, Phase, TransferId, TransferKind};

/// Rafiki's `INCOMING_PAYMENT_EXPIRY_MAX_MS` default (30 days): both the default expiry and the
/// latest one accepted.
pub const INCOMING_PAYMENT_EXPIRY_MAX: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How many incoming payments an instance keeps (they live in memory, and are never deleted).
pub const MAX_INCOMING_PAYMENTS: usize = 100_000;
/// The largest metadata accepted, as serialized JSON.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;
/// How long a received packet's transfers could stay pending: they are posted in the same step.
const RECEIVE_HOLD_MS: u64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomingPaymentState {
    /// Created, nothing received yet.
    Pending,
    /// Received something, not yet `incomingAmount`.
    Processing,
    /// Received `incomingAmount`: refuses further packets.
    Completed,
    /// Its `expiresAt` passed before it completed: refuses further packets.
    Expired,
}

impl IncomingPaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Processing => "PROCESSING",
            Self::Completed => "COMPLETED",
            Self::Expired => "EXPIRED",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncomingPayment {
    pub id: Uuid,
    pub wallet_address_id: Uuid,
    /// In the wallet address's asset.
    pub incoming_amount: Option<u64>,
    pub received_amount: u64,
    pub expires_at: SystemTime,
    pub metadata: Option<Value>,
    pub state: IncomingPaymentState,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
}

impl IncomingPayment {
    pub fn completed(&self) -> bool {
        self.state == IncomingPaymentState::Completed
    }

    /// Expires the payment when its time has passed (states are brought up to date on read).
    fn refresh(&mut self, now: SystemTime) {
        let open = matches!(
            self.state,
            IncomingPaymentState::Pending | IncomingPaymentState::Processing
        );
        if open && now >= self.expires_at {
            self.state = IncomingPaymentState::Expired;
            self.updated_at = self.expires_at;
        }
    }
}

/// What creating an incoming payment takes. `incoming_amount`, when given, must be in the wallet
/// address's asset (code and scale).
#[derive(Debug, Clone, Default)]
pub struct NewIncomingPayment {
    pub wallet_address_id: Uuid,
    pub incoming_amount: Option<AmountInAsset>,
    pub expires_at: Option<SystemTime>,
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountInAsset {
    pub value: u64,
    pub asset_code: String,
    pub asset_scale: u8,
}

/// Rafiki's `IncomingPaymentError`s (its messages), plus peerlab's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IncomingPaymentError {
    #[error("unknown wallet address")]
    UnknownWalletAddress,
    #[error("inactive wallet address")]
    InactiveWalletAddress,
    #[error("invalid amount")]
    InvalidAmount,
    #[error("invalid expiresAt")]
    InvalidExpiry,
    #[error("unknown payment")]
    UnknownPayment,
    #[error("metadata is too large (at most 8192 bytes of JSON)")]
    MetadataTooLarge,
    #[error("too many incoming payments on this instance (at most 100000)")]
    TooManyIncomingPayments,
}

/// Why a packet for an incoming payment was not credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IncomingPacketRefusal {
    /// The payment or its wallet address is gone or inactive.
    #[error("unknown incoming payment")]
    Unknown,
    /// Completed or expired: nothing more is taken.
    #[error("incoming payment is {0:?}")]
    Closed(IncomingPaymentState),
    /// The packet would take the payment past its `incomingAmount`.
    #[error("packet exceeds what the incoming payment still expects")]
    ExceedsRemaining,
    #[error("{0}")]
    Liquidity(LiquidityError),
}

/// Incoming payments by id, and in creation order (for pages).
#[derive(Debug, Default)]
pub(super) struct IncomingPayments {
    by_id: HashMap<Uuid, IncomingPayment>,
    order: Vec<Uuid>,
}

impl Instance {
    pub fn create_incoming_payment(
        &self,
        new: NewIncomingPayment,
    ) -> Result<IncomingPayment, IncomingPaymentError> {
        let now = SystemTime::now();
        let expires_at = match new.expires_at {
            None => now + INCOMING_PAYMENT_EXPIRY_MAX,
            Some(at) if at <= now || at > now + INCOMING_PAYMENT_EXPIRY_MAX => {
                return Err(IncomingPaymentError::InvalidExpiry);
            }
            Some(at) => at,
        };
        if let Some(metadata) = &new.metadata {
            let size = serde_json::to_vec(metadata).map_or(usize::MAX, |bytes| bytes.len());
            if size > MAX_METADATA_BYTES {
                return Err(IncomingPaymentError::MetadataTooLarge);
            }
        }
        let wallet = self
            .wallet_address_by_id(new.wallet_address_id)
            .ok_or(IncomingPaymentError::UnknownWalletAddress)?;
        if !wallet.active {
            return Err(IncomingPaymentError::InactiveWalletAddress);
        }
        let incoming_amount = match new.incoming_amount {
            None => None,
            Some(amount) => {
                let asset = self
                    .asset_including_deleted(wallet.asset_id)
                    .ok_or(IncomingPaymentError::UnknownWalletAddress)?;
                if amount.value == 0
                    || amount.asset_code != asset.code
                    || amount.asset_scale != asset.scale
                {
                    return Err(IncomingPaymentError::InvalidAmount);
                }
                Some(amount.value)
            }
        };
        let payment = IncomingPayment {
            id: Uuid::new_v4(),
            wallet_address_id: wallet.id,
            incoming_amount,
            received_amount: 0,
            expires_at,
            metadata: new.metadata,
            state: IncomingPaymentState::Pending,
            created_at: now,
            updated_at: now,
        };
        let mut state = self.lock();
        let payments = &mut state.incoming_payments;
        if payments.order.len() >= MAX_INCOMING_PAYMENTS {
            return Err(IncomingPaymentError::TooManyIncomingPayments);
        }
        payments.by_id.insert(payment.id, payment.clone());
        payments.order.push(payment.id);
        Ok(payment)
    }

    /// The incoming payment `id`, its state brought up to date.
    pub fn incoming_payment(&self, id: &str) -> Option<IncomingPayment> {
        let id = parse_id(id)?;
        self.incoming_payment_by_id(id)
    }

    pub fn incoming_payment_by_id(&self, id: Uuid) -> Option<IncomingPayment> {
        let mut state = self.lock();
        let payment = state.incoming_payments.by_id.get_mut(&id)?;
        payment.refresh(SystemTime::now());
        Some(payment.clone())
    }

    /// A wallet address's incoming payments, in creation order, paged.
    pub fn incoming_payments_page(
        &self,
        wallet_address_id: Uuid,
        request: &PageRequest,
    ) -> Result<Page<IncomingPayment>, PaginationError> {
        let now = SystemTime::now();
        let payments: Vec<IncomingPayment> = {
            let mut state = self.lock();
            let payments = &mut state.incoming_payments;
            let ids: Vec<Uuid> = payments.order.clone();
            ids.iter()
                .filter_map(|id| {
                    let payment = payments.by_id.get_mut(id)?;
                    if payment.wallet_address_id != wallet_address_id {
                        return None;
                    }
                    payment.refresh(now);
                    Some(payment.clone())
                })
                .collect()
        };
        pagination::paginate(&payments, |p| p.id.to_string(), request)
    }

    /// The incoming payment a packet is for and its wallet address, when it can still receive.
    pub fn incoming_payment_receiver(
        &self,
        id: Uuid,
    ) -> Result<(IncomingPayment, std::sync::Arc<WalletAddress>), IncomingPacketRefusal> {
        let payment = self
            .incoming_payment_by_id(id)
            .ok_or(IncomingPacketRefusal::Unknown)?;
        let wallet = self
            .wallet_address_by_id(payment.wallet_address_id)
            .filter(|wallet| wallet.active)
            .ok_or(IncomingPacketRefusal::Unknown)?;
        Ok((payment, wallet))
    }

    /// Credits a fulfilled packet to incoming payment `id`: `amount` from the incoming peer's
    /// account, `arrived` (in the wallet address's asset) into the wallet address's account, and
    /// `arrived` counted in the payment's `receivedAmount`, all under one lock. Refused, with
    /// nothing moved, when the payment is completed or expired or `arrived` would take it past
    /// its `incomingAmount` (money stays exact: a payment never receives more than it asked;
    /// Rafiki credits such a packet and completes, receiving more than `incomingAmount`). A
    /// zero-amount packet changes nothing and is never refused.
    pub fn receive_incoming_payment_packet(
        &self,
        from: PacketSource<'_>,
        id: Uuid,
        amount: u64,
        arrived: u64,
    ) -> Result<IncomingPayment, IncomingPacketRefusal> {
        let now = SystemTime::now();
        let mut guard = self.lock();
        // Split borrows: the payment, the wallet addresses and the ledger are separate fields.
        let state = &mut *guard;
        let payment = state
            .incoming_payments
            .by_id
            .get_mut(&id)
            .ok_or(IncomingPacketRefusal::Unknown)?;
        payment.refresh(now);
        if amount == 0 && arrived == 0 {
            // Moves nothing and changes nothing: Rafiki lets such packets reach its receiver
            // whatever the payment's state.
            return Ok(payment.clone());
        }
        if matches!(
            payment.state,
            IncomingPaymentState::Completed | IncomingPaymentState::Expired
        ) {
            return Err(IncomingPacketRefusal::Closed(payment.state));
        }
        let received = payment
            .received_amount
            .checked_add(arrived)
            .ok_or(IncomingPacketRefusal::ExceedsRemaining)?;
        if payment
            .incoming_amount
            .is_some_and(|expected| received > expected)
        {
            return Err(IncomingPacketRefusal::ExceedsRemaining);
        }
        let wallet_id = payment.wallet_address_id;
        let wallet = state
            .wallet_addresses
            .get(wallet_id)
            .filter(|wallet| wallet.active)
            .ok_or(IncomingPacketRefusal::Unknown)?;
        let wallet_asset = wallet.asset_id;
        if amount > 0 {
            let leg = |debit: Uuid, credit: Uuid, amount| NewTransfer {
                id: TransferId::random(),
                debit_account: AccountId(debit),
                credit_account: AccountId(credit),
                amount,
                kind: TransferKind::Transfer,
                // Posted at once below; pending only so that both legs go in, or neither.
                phase: Phase::Pending {
                    timeout_ms: Some(RECEIVE_HOLD_MS),
                },
            };
            let legs = if from.asset_id == wallet_asset {
                vec![leg(from.id, wallet_id, amount)]
            } else {
                vec![
                    leg(from.id, from.asset_id, amount),
                    leg(wallet_asset, wallet_id, arrived),
                ]
            };
            state
                .accounting
                .reserve_packet_legs(&legs)
                .map_err(|error| IncomingPacketRefusal::Liquidity(error.into()))?;
            for leg in &legs {
                state
                    .accounting
                    .post(leg.id)
                    .map_err(|error| IncomingPacketRefusal::Liquidity(error.into()))?;
            }
        }
        if arrived > 0 {
            payment.received_amount = received;
            payment.state = if payment.incoming_amount == Some(received) {
                IncomingPaymentState::Completed
            } else {
                IncomingPaymentState::Processing
            };
            payment.updated_at = now;
        }
        Ok(payment.clone())
    }
}
