//! Incoming payments, as Rafiki keeps them: money a wallet address expects, optionally up to an
//! `incomingAmount`, until `expiresAt`. STREAM packets addressed to an incoming payment (its
//! receiving address's connection tag names it) are counted in `receivedAmount`.
//!
//! Money: as in Rafiki (LiquidityAccountType INCOMING), each incoming payment has its own ledger
//! account in its wallet address's asset, created with it; packets for the payment credit that
//! account, and the operator takes the money out with `createIncomingPaymentWithdrawal` once the
//! payment completed or expired. The count in `receivedAmount` and the credit change under one
//! lock, so they cannot disagree. Money that reaches a wallet address without an incoming payment
//! (SPSP, web monetization) still goes to the wallet address's own account.
//!
//! Retention: a payment that completed or expired and whose account is empty again (withdrawn,
//! or it received nothing) is settled; the instance keeps the latest settled ones and forgets
//! older ones with their account and withdrawal (`instance::retention`).
//!
//! Events: `incoming_payment.created` on creation, `incoming_payment.completed` when a packet
//! completes it, `incoming_payment.expired` when its expiry passes with money received (Rafiki
//! soft-deletes an expired payment that received nothing, without an event). Open payments sit in
//! an index ordered by expiry, so the sweep the node runs (and every read) pops only what is due.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use thiserror::Error;
use uuid::Uuid;

use super::pagination::{self, Page, PageRequest, PaginationError};
use super::retention::{SettledQueue, WalletLists};
use super::{Asset, EventType, Instance, PacketSource, State, WalletAddress, parse_id};
use crate::instance::LiquidityError;
use crate::ledger::{AccountId, AccountKind, NewTransfer, Phase, TransferId, TransferKind};

/// Rafiki's `INCOMING_PAYMENT_EXPIRY_MAX_MS` default (30 days): both the default expiry and the
/// latest one accepted.
pub const INCOMING_PAYMENT_EXPIRY_MAX: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How many incoming payments that are not settled (open, or holding money) an instance keeps:
/// creating one more is refused. Settled ones are kept up to [`super::SETTLED_RETENTION`] more,
/// the oldest forgotten first (see `instance::retention`).
pub const MAX_INCOMING_PAYMENTS: usize = 100_000;
/// The largest metadata accepted, as serialized JSON.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;
/// How long a received packet's transfers could stay pending: they are posted in the same step.
const RECEIVE_HOLD_MS: u64 = 1_000;
/// How often the node's sweep expires incoming payments whose time passed.
pub const EXPIRY_SWEEP_INTERVAL: Duration = Duration::from_millis(250);

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
    /// The id of its `incoming_payment.completed` or `.expired` event, once recorded: a
    /// withdrawal of what it received uses it as its transfer id (kept here, not looked up in
    /// the bounded event log).
    pub closing_event_id: Option<Uuid>,
}

impl IncomingPayment {
    pub fn completed(&self) -> bool {
        self.state == IncomingPaymentState::Completed
    }

    fn open(&self) -> bool {
        matches!(
            self.state,
            IncomingPaymentState::Pending | IncomingPaymentState::Processing
        )
    }

    /// Rafiki's `toData`: the JSON of its events. Amounts are strings; absent fields are left
    /// out, as JSON.stringify leaves out `undefined`.
    fn event_data(&self, asset: Option<&Asset>) -> Value {
        let code = asset.map(|a| a.code.clone());
        let scale = asset.map(|a| a.scale);
        let amount = |value: u64| json!({"value": value.to_string(), "assetCode": code, "assetScale": scale});
        let mut data = json!({
            "id": self.id.to_string(),
            "walletAddressId": self.wallet_address_id.to_string(),
            "createdAt": crate::text::iso_timestamp(self.created_at),
            "expiresAt": crate::text::iso_timestamp(self.expires_at),
            "receivedAmount": amount(self.received_amount),
            "completed": self.completed(),
        });
        if let Some(object) = data.as_object_mut() {
            if let Some(incoming) = self.incoming_amount {
                object.insert("incomingAmount".into(), amount(incoming));
            }
            if let Some(metadata) = &self.metadata {
                object.insert("metadata".into(), metadata.clone());
            }
        }
        data
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
    #[error("too many incoming payments on this instance (at most 100000 open or holding money)")]
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
    /// The packet would take the payment's `receivedAmount` beyond the largest UInt64.
    #[error("packet would take the amount received beyond the largest UInt64")]
    ExceedsRemaining,
    #[error("{0}")]
    Liquidity(LiquidityError),
}

/// Incoming payments by id, each wallet address's in creation order (for its pages), the open
/// ones by expiry, and the settled ones in the order they settled (for forgetting).
#[derive(Debug, Default)]
pub(super) struct IncomingPayments {
    by_id: HashMap<Uuid, IncomingPayment>,
    by_wallet: WalletLists,
    /// Open payments, soonest expiry first. A payment leaves it when it completes or expires.
    expiries: BTreeSet<(SystemTime, Uuid)>,
    pub(super) settled: SettledQueue,
}

impl IncomingPayments {
    pub(super) fn get(&self, id: Uuid) -> Option<&IncomingPayment> {
        self.by_id.get(&id)
    }

    /// Those that are not settled: open, or holding money (or settled a moment ago and waiting
    /// their turn to be checked again).
    fn unsettled(&self) -> usize {
        self.by_id.len().saturating_sub(self.settled.len())
    }

    /// Removes a settled payment from every index. It is neither open (so not in `expiries`)
    /// nor queued (eviction took it out of `settled`).
    pub(super) fn forget(&mut self, id: Uuid) {
        let Some(payment) = self.by_id.remove(&id) else {
            return;
        };
        let by_id = &self.by_id;
        self.by_wallet
            .forgotten(payment.wallet_address_id, |id| by_id.contains_key(id));
    }

    #[cfg(test)]
    pub(super) fn held(&self) -> (usize, usize) {
        (self.by_id.len(), self.by_wallet.len())
    }
}

impl State {
    /// Expires every open incoming payment whose `expiresAt` is at or before `now`, recording
    /// `incoming_payment.expired` for those that received something. Costs a look at the first
    /// entry of the expiry index when nothing is due.
    pub(super) fn expire_incoming_payments(&mut self, now: SystemTime) -> usize {
        let mut expired = 0;
        while let Some(&(expires_at, id)) = self.incoming_payments.expiries.first() {
            if expires_at > now {
                break;
            }
            self.incoming_payments.expiries.pop_first();
            let Some(payment) = self.incoming_payments.by_id.get_mut(&id) else {
                continue;
            };
            if !payment.open() {
                continue;
            }
            payment.state = IncomingPaymentState::Expired;
            payment.updated_at = payment.expires_at;
            expired += 1;
            if payment.received_amount > 0 {
                let asset = self
                    .wallet_addresses
                    .get(payment.wallet_address_id)
                    .and_then(|wallet| self.assets.iter().find(|a| a.id == wallet.asset_id));
                let data = payment.event_data(asset);
                let event_id = self.events.record(EventType::IncomingPaymentExpired, data);
                payment.closing_event_id = Some(event_id);
            } else {
                // Received nothing, so nothing to withdraw: settled now.
                self.note_incoming_payment(id);
            }
        }
        expired
    }
}

impl Instance {
    pub fn create_incoming_payment(
        &self,
        new: NewIncomingPayment,
    ) -> Result<IncomingPayment, IncomingPaymentError> {
        let now = crate::clock::now();
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
            id: crate::entropy::uuid(),
            wallet_address_id: wallet.id,
            incoming_amount,
            received_amount: 0,
            expires_at,
            metadata: new.metadata,
            state: IncomingPaymentState::Pending,
            created_at: now,
            updated_at: now,
            closing_event_id: None,
        };
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.incoming_payments.unsettled() >= MAX_INCOMING_PAYMENTS {
            return Err(IncomingPaymentError::TooManyIncomingPayments);
        }
        let asset = state
            .assets
            .iter()
            .find(|a| a.id == wallet.asset_id)
            .ok_or(IncomingPaymentError::UnknownWalletAddress)?;
        state
            .accounting
            .create_account(
                AccountId(payment.id),
                asset.ledger,
                AccountKind::IncomingPayment,
            )
            .map_err(|_| IncomingPaymentError::UnknownWalletAddress)?;
        let data = payment.event_data(Some(asset));
        state.events.record(EventType::IncomingPaymentCreated, data);
        let payments = &mut state.incoming_payments;
        payments.by_id.insert(payment.id, payment.clone());
        payments
            .by_wallet
            .push(payment.wallet_address_id, payment.id);
        payments.expiries.insert((payment.expires_at, payment.id));
        Ok(payment)
    }

    /// Expires the incoming payments whose time has passed (the node's sweep calls it every
    /// [`EXPIRY_SWEEP_INTERVAL`]); returns how many expired.
    pub fn expire_incoming_payments(&self) -> usize {
        self.lock().expire_incoming_payments(crate::clock::now())
    }

    /// The incoming payment `id`, its state brought up to date.
    pub fn incoming_payment(&self, id: &str) -> Option<IncomingPayment> {
        let id = parse_id(id)?;
        self.incoming_payment_by_id(id)
    }

    pub fn incoming_payment_by_id(&self, id: Uuid) -> Option<IncomingPayment> {
        let mut state = self.lock();
        state.expire_incoming_payments(crate::clock::now());
        state.incoming_payments.by_id.get(&id).cloned()
    }

    /// Withdraws what incoming payment `id` received (`createIncomingPaymentWithdrawal`), as
    /// Rafiki does: only once it completed or expired with money received (else
    /// [`LiquidityError::UnknownIncomingPayment`]), its whole `receivedAmount`, with the id of
    /// its completed or expired event as the transfer's id, so a second withdrawal is
    /// [`LiquidityError::TransferExists`]. Returns the amount.
    pub fn create_incoming_payment_withdrawal(
        &self,
        id: &str,
        mode: super::WithdrawalMode,
    ) -> Result<u64, LiquidityError> {
        let phase = super::liquidity::phase_of(mode)?;
        let mut state = self.lock();
        state.expire_incoming_payments(crate::clock::now());
        let (event_id, amount) = parse_id(id)
            .and_then(|id| state.incoming_payments.by_id.get(&id))
            .and_then(|payment| {
                let event_id = payment.closing_event_id?;
                (payment.received_amount > 0).then_some((event_id, payment.received_amount))
            })
            .ok_or(LiquidityError::UnknownIncomingPayment)?;
        let account = parse_id(id)
            .map(AccountId)
            .ok_or(LiquidityError::UnknownIncomingPayment)?;
        let transfer_id = TransferId::from_uuid(event_id)?;
        state
            .accounting
            .withdraw(transfer_id, account, amount, phase)?;
        // At once, it empties the account and settles the payment; two-phase, its post does.
        state.note_incoming_payment(account.0);
        Ok(amount)
    }

    /// What the incoming payment's own account holds: received and not yet withdrawn.
    pub fn incoming_payment_balance(&self, id: Uuid) -> Option<u64> {
        self.lock()
            .accounting
            .ledger()
            .balance(AccountId(id))
            .ok()
            .map(super::reportable)
    }

    /// A wallet address's incoming payments, in creation order, paged. Costs that wallet
    /// address's payments, not every payment.
    pub fn incoming_payments_page(
        &self,
        wallet_address_id: Uuid,
        request: &PageRequest,
    ) -> Result<Page<IncomingPayment>, PaginationError> {
        let mut state = self.lock();
        state.expire_incoming_payments(crate::clock::now());
        let payments = &state.incoming_payments;
        let ids = payments
            .by_wallet
            .ids(wallet_address_id, |id| payments.by_id.contains_key(id));
        let page = pagination::paginate(&ids, Uuid::to_string, request)?;
        Ok(Page {
            items: page
                .items
                .iter()
                .filter_map(|id| payments.by_id.get(id).cloned())
                .collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        })
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
    /// account, `arrived` (in the wallet address's asset) into the incoming payment's own
    /// account, and `arrived` counted in the payment's `receivedAmount`, all under one lock, with
    /// `incoming_payment.completed` recorded in the same step when it completes. Refused, with
    /// nothing moved, when the payment is completed or expired. A packet that takes it past its
    /// `incomingAmount` is credited and completes it, as Rafiki's receiver does: a sender paying a
    /// fixed amount across a rate it only estimated (a probe rounds down) overshoots by a unit
    /// or two on its last packet, and refusing that would fail the payment. A zero-amount packet
    /// changes nothing and is never refused.
    pub fn receive_incoming_payment_packet(
        &self,
        from: PacketSource<'_>,
        id: Uuid,
        amount: u64,
        arrived: u64,
    ) -> Result<IncomingPayment, IncomingPacketRefusal> {
        let now = crate::clock::now();
        let mut guard = self.lock();
        // Split borrows: the payment, the wallet addresses and the ledger are separate fields.
        let state = &mut *guard;
        state.expire_incoming_payments(now);
        let payment = state
            .incoming_payments
            .by_id
            .get(&id)
            .ok_or(IncomingPacketRefusal::Unknown)?;
        if amount == 0 && arrived == 0 {
            // Moves nothing and changes nothing: Rafiki lets such packets reach its receiver
            // whatever the payment's state.
            return Ok(payment.clone());
        }
        if !payment.open() {
            return Err(IncomingPacketRefusal::Closed(payment.state));
        }
        let received = payment
            .received_amount
            .checked_add(arrived)
            .ok_or(IncomingPacketRefusal::ExceedsRemaining)?;
        let wallet = state
            .wallet_addresses
            .get(payment.wallet_address_id)
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
                vec![leg(from.id, id, amount)]
            } else {
                vec![
                    leg(from.id, from.asset_id, amount),
                    leg(wallet_asset, id, arrived),
                ]
            };
            state
                .accounting
                .reserve_packet_legs(&legs)
                .map_err(|error| IncomingPacketRefusal::Liquidity(error.into()))?;
            for leg in &legs {
                let posted = state
                    .accounting
                    .post(leg.id)
                    .map_err(|error| IncomingPacketRefusal::Liquidity(error.into()))?;
                state.after_posted(&posted);
            }
        }
        let asset = state.assets.iter().find(|a| a.id == wallet_asset);
        let payments = &mut state.incoming_payments;
        let payment = payments
            .by_id
            .get_mut(&id)
            .ok_or(IncomingPacketRefusal::Unknown)?;
        if arrived > 0 {
            payment.received_amount = received;
            payment.updated_at = now;
            if payment
                .incoming_amount
                .is_some_and(|expected| received >= expected)
            {
                payment.state = IncomingPaymentState::Completed;
                payments.expiries.remove(&(payment.expires_at, id));
                let data = payment.event_data(asset);
                let event_id = state
                    .events
                    .record(EventType::IncomingPaymentCompleted, data);
                payment.closing_event_id = Some(event_id);
            } else {
                payment.state = IncomingPaymentState::Processing;
            }
        }
        Ok(payment.clone())
    }
}
