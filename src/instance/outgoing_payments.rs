//! Outgoing payments, as Rafiki keeps them: a quote turned into a payment (same id), FUNDING until
//! the operator deposits its `debitAmount` into the payment's own ledger account, SENDING while
//! the payments service pays the receiver from that account, then COMPLETED or FAILED. What was
//! not spent stays in the account until the operator withdraws it
//! (`createOutgoingPaymentWithdrawal`). Each change of state records its webhook event in the same
//! step; funding and the withdrawal use those events' ids as transfer ids, as Rafiki does, so a
//! retried deposit or withdrawal cannot move money twice.
//!
//! Retention: a payment that finished and whose account is empty again (what it did not spend
//! was withdrawn, or it spent everything) is settled; the instance keeps the latest settled ones
//! and forgets older ones with their account, funding deposit and withdrawal
//! (`instance::retention`).

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use serde_json::{Value, json};
use thiserror::Error;
use uuid::Uuid;

use super::events::EventType;
use super::incoming_payments::{AmountInAsset, MAX_METADATA_BYTES};
use super::pagination::{self, Page, PageRequest, PaginationError};
use super::quotes::Quote;
use super::retention::{SettledQueue, WalletLists};
use super::{Instance, LiquidityError, LocalAccount, State, WithdrawalMode, parse_id};
use crate::ledger::{AccountId, AccountKind, TransferId};
use crate::text::iso_timestamp;

/// How many outgoing payments that are not settled (not finished, or holding money) an instance
/// keeps: creating one more is refused. Settled ones are kept up to [`super::SETTLED_RETENTION`]
/// more, the oldest forgotten first (see `instance::retention`).
pub const MAX_OUTGOING_PAYMENTS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutgoingPaymentState {
    /// Created; waits for the operator's deposit of `debitAmount`.
    Funding,
    /// Funded; being paid.
    Sending,
    Completed,
    Failed,
}

impl OutgoingPaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Funding => "FUNDING",
            Self::Sending => "SENDING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Funding, Self::Sending, Self::Completed, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingPayment {
    /// The quote's id, as in Rafiki: one payment per quote.
    pub id: Uuid,
    pub wallet_address_id: Uuid,
    pub quote: Quote,
    pub state: OutgoingPaymentState,
    /// Why it failed.
    pub error: Option<String>,
    pub state_attempts: u32,
    /// In the debit asset: fulfilled packets' amounts.
    pub sent_amount: u64,
    pub metadata: Option<Value>,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    /// The `outgoing_payment.created` event: its id is the funding deposit's transfer id.
    pub created_event: Uuid,
    /// The `outgoing_payment.completed|failed` event: its id is the withdrawal's transfer id.
    pub finished_event: Option<Uuid>,
}

impl OutgoingPayment {
    pub fn receiver(&self) -> &str {
        &self.quote.receiver
    }

    pub fn debit_amount(&self) -> &AmountInAsset {
        &self.quote.debit_amount
    }

    pub fn receive_amount(&self) -> &AmountInAsset {
        &self.quote.receive_amount
    }

    /// Rafiki's webhook `data` for the payment (`OutgoingPayment.toData`).
    fn event_data(&self, balance: u64) -> Value {
        let amount = |value: u64, like: &AmountInAsset| {
            json!({
                "value": value.to_string(),
                "assetCode": like.asset_code,
                "assetScale": like.asset_scale,
            })
        };
        let debit = self.debit_amount();
        let receive = self.receive_amount();
        let mut data = json!({
            "id": self.id.to_string(),
            "walletAddressId": self.wallet_address_id.to_string(),
            "state": self.state.as_str(),
            "receiver": self.receiver(),
            "debitAmount": amount(debit.value, debit),
            "receiveAmount": amount(receive.value, receive),
            "sentAmount": amount(self.sent_amount, debit),
            "stateAttempts": self.state_attempts,
            "createdAt": iso_timestamp(self.created_at),
            "balance": balance.to_string(),
        });
        if let Some(metadata) = &self.metadata {
            data["metadata"] = metadata.clone();
        }
        if let Some(error) = &self.error {
            data["error"] = json!(error);
        }
        data
    }
}

/// What `createOutgoingPayment` takes.
#[derive(Debug, Clone, Default)]
pub struct NewOutgoingPayment {
    pub wallet_address_id: String,
    pub quote_id: String,
    pub metadata: Option<Value>,
}

/// Rafiki's `OutgoingPaymentError`s and `FundingError`s (their messages), plus peerlab's bounds.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OutgoingPaymentError {
    #[error("unknown wallet address")]
    UnknownWalletAddress,
    #[error("inactive wallet address")]
    InactiveWalletAddress,
    #[error("unknown payment")]
    UnknownPayment,
    #[error("unknown quote")]
    UnknownQuote,
    #[error("invalid quote")]
    InvalidQuote,
    #[error("wrong state")]
    WrongState,
    #[error("invalid amount")]
    InvalidAmount,
    #[error("metadata is too large (at most 8192 bytes of JSON)")]
    MetadataTooLarge,
    #[error(
        "too many outgoing payments on this instance (at most 100000 unfinished or holding money)"
    )]
    TooManyOutgoingPayments,
    /// The ledger refused the funding deposit.
    #[error("{0}")]
    Transfer(LiquidityError),
}

/// How sending ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendingOutcome {
    Completed { sent: u64 },
    Failed { sent: u64, reason: String },
}

#[derive(Debug, Default)]
pub(super) struct OutgoingPayments {
    by_id: HashMap<Uuid, OutgoingPayment>,
    /// Each wallet address's payments, in creation order (for its pages).
    by_wallet: WalletLists,
    pub(super) settled: SettledQueue,
    /// Finished payments whose account still had packets in flight when they finished: the
    /// last of those to end may settle them. Usually empty, so a packet costs one `is_empty`.
    finished_in_flight: HashSet<Uuid>,
}

impl OutgoingPayments {
    pub(super) fn get(&self, id: Uuid) -> Option<&OutgoingPayment> {
        self.by_id.get(&id)
    }

    /// Those that are not settled: unfinished, or holding money (or settled a moment ago and
    /// waiting their turn to be checked again).
    fn unsettled(&self) -> usize {
        self.by_id.len().saturating_sub(self.settled.len())
    }

    /// Removes a settled payment from every index.
    pub(super) fn forget(&mut self, id: Uuid) {
        let Some(payment) = self.by_id.remove(&id) else {
            return;
        };
        self.finished_in_flight.remove(&id);
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
    fn outgoing_payment_balance(&self, id: Uuid) -> u64 {
        self.accounting
            .ledger()
            .balance(AccountId(id))
            .ok()
            .map_or(0, super::reportable)
    }

    /// A packet's transfer from `account` ended: if it was the last in flight of a finished
    /// payment, the payment may be settled now.
    pub(super) fn outgoing_packet_ended(&mut self, account: AccountId) {
        let payments = &mut self.outgoing_payments;
        if payments.finished_in_flight.is_empty()
            || !payments.finished_in_flight.contains(&account.0)
        {
            return;
        }
        let in_flight = self
            .accounting
            .ledger()
            .account(account)
            .is_some_and(|a| a.debits_pending > 0 || a.credits_pending > 0);
        if !in_flight {
            self.outgoing_payments.finished_in_flight.remove(&account.0);
            self.note_outgoing_payment(account.0);
        }
    }

    fn record_outgoing_payment_event(&mut self, id: Uuid, event_type: EventType) -> Option<Uuid> {
        let balance = self.outgoing_payment_balance(id);
        let data = self.outgoing_payments.by_id.get(&id)?.event_data(balance);
        Some(self.events.record(event_type, data))
    }
}

impl Instance {
    /// Turns a quote into an outgoing payment, FUNDING, with its own (empty) ledger account, and
    /// records `outgoing_payment.created`. Refused when the quote is unknown, expired, already
    /// used or another wallet address's.
    pub fn create_outgoing_payment(
        &self,
        new: NewOutgoingPayment,
    ) -> Result<OutgoingPayment, OutgoingPaymentError> {
        if let Some(metadata) = &new.metadata {
            let size = serde_json::to_vec(metadata).map_or(usize::MAX, |bytes| bytes.len());
            if size > MAX_METADATA_BYTES {
                return Err(OutgoingPaymentError::MetadataTooLarge);
            }
        }
        let now = crate::clock::now();
        let mut guard = self.lock();
        let state = &mut *guard;
        let wallet = parse_id(&new.wallet_address_id)
            .and_then(|id| state.wallet_addresses.get(id))
            .ok_or(OutgoingPaymentError::UnknownWalletAddress)?;
        if !wallet.active {
            return Err(OutgoingPaymentError::InactiveWalletAddress);
        }
        let wallet_id = wallet.id;
        let quote = parse_id(&new.quote_id)
            .and_then(|id| state.quotes.get(id))
            .ok_or(OutgoingPaymentError::UnknownQuote)?
            .clone();
        // A used quote stays marked used for as long as it is kept, even once its payment is
        // forgotten; forgotten itself, it is unknown: either way it is never paid twice.
        if quote.wallet_address_id != wallet_id
            || quote.expired(now)
            || state.quotes.used(quote.id)
            || state.outgoing_payments.by_id.contains_key(&quote.id)
        {
            return Err(OutgoingPaymentError::InvalidQuote);
        }
        if state.outgoing_payments.unsettled() >= MAX_OUTGOING_PAYMENTS {
            return Err(OutgoingPaymentError::TooManyOutgoingPayments);
        }
        let ledger = state
            .assets
            .iter()
            .find(|asset| asset.id == quote.asset_id)
            .map(|asset| asset.ledger)
            .ok_or(OutgoingPaymentError::InvalidQuote)?;
        state
            .accounting
            .create_account(AccountId(quote.id), ledger, AccountKind::OutgoingPayment)
            .map_err(|error| OutgoingPaymentError::Transfer(error.into()))?;
        let id = quote.id;
        let payment = OutgoingPayment {
            id,
            wallet_address_id: wallet_id,
            quote,
            state: OutgoingPaymentState::Funding,
            error: None,
            state_attempts: 0,
            sent_amount: 0,
            metadata: new.metadata,
            created_at: now,
            updated_at: now,
            // Set just below, once the payment exists to describe itself.
            created_event: Uuid::nil(),
            finished_event: None,
        };
        let payments = &mut state.outgoing_payments;
        payments.by_id.insert(id, payment);
        payments.by_wallet.push(wallet_id, id);
        let event = state
            .record_outgoing_payment_event(id, EventType::OutgoingPaymentCreated)
            .unwrap_or_default();
        let payment = state
            .outgoing_payments
            .by_id
            .get_mut(&id)
            .ok_or(OutgoingPaymentError::UnknownPayment)?;
        payment.created_event = event;
        let payment = payment.clone();
        let limit = state.settled_limit;
        state.quotes.mark_used(id, limit);
        Ok(payment)
    }

    /// The payment `id`. While it is SENDING, its `sent_amount` is what its fulfilled packets
    /// have taken from its account so far (nothing else debits it before it finishes).
    pub fn outgoing_payment(&self, id: &str) -> Option<OutgoingPayment> {
        let id = parse_id(id)?;
        let state = self.lock();
        let mut payment = state.outgoing_payments.by_id.get(&id).cloned()?;
        if payment.state == OutgoingPaymentState::Sending {
            payment.sent_amount = state
                .accounting
                .ledger()
                .account(AccountId(id))
                .map_or(0, |account| super::reportable(account.debits_posted));
        }
        Some(payment)
    }

    /// The payment's liquidity right now: what was funded and not yet sent or withdrawn.
    pub fn outgoing_payment_liquidity(&self, id: Uuid) -> u64 {
        self.lock().outgoing_payment_balance(id)
    }

    /// A wallet address's outgoing payments, in creation order, paged. Costs that wallet
    /// address's payments, not every payment.
    pub fn outgoing_payments_page(
        &self,
        wallet_address_id: Uuid,
        request: &PageRequest,
    ) -> Result<Page<OutgoingPayment>, PaginationError> {
        let state = self.lock();
        let payments = &state.outgoing_payments;
        let ids = payments
            .by_wallet
            .ids(wallet_address_id, |id| payments.by_id.contains_key(id));
        let page = pagination::paginate(&ids, Uuid::to_string, request)?;
        let items = page
            .items
            .iter()
            .filter_map(|id| payments.by_id.get(id).cloned())
            .collect();
        Ok(Page {
            items,
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        })
    }

    /// The operator funds a FUNDING payment with exactly its `debitAmount`
    /// (`depositOutgoingPaymentLiquidity`): deposited into the payment's account under the
    /// `outgoing_payment.created` event's id, and the payment moves to SENDING. Returns the
    /// payment, to be sent. `amount` `None` funds the debit amount, as Rafiki's resolver does.
    pub fn fund_outgoing_payment(
        &self,
        id: &str,
        amount: Option<u64>,
    ) -> Result<OutgoingPayment, OutgoingPaymentError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let payment = parse_id(id)
            .and_then(|id| state.outgoing_payments.by_id.get_mut(&id))
            .ok_or(OutgoingPaymentError::UnknownPayment)?;
        if payment.state != OutgoingPaymentState::Funding {
            return Err(OutgoingPaymentError::WrongState);
        }
        let debit = payment.quote.debit_amount.value;
        if amount.is_some_and(|amount| amount != debit) {
            return Err(OutgoingPaymentError::InvalidAmount);
        }
        let transfer = TransferId::from_uuid(payment.created_event)
            .map_err(|error| OutgoingPaymentError::Transfer(error.into()))?;
        state
            .accounting
            .deposit(transfer, AccountId(payment.id), debit)
            .map_err(|error| OutgoingPaymentError::Transfer(error.into()))?;
        payment.state = OutgoingPaymentState::Sending;
        payment.updated_at = crate::clock::now();
        Ok(payment.clone())
    }

    /// The account a SENDING payment's packets are paid from.
    pub fn outgoing_payment_account(&self, payment: &OutgoingPayment) -> LocalAccount {
        LocalAccount {
            id: payment.id,
            asset_id: payment.quote.asset_id,
            address: payment.quote.path.source_address.clone(),
            unfulfillable: false,
        }
    }

    /// Ends a SENDING payment: COMPLETED or FAILED with its reason, `sentAmount` set, and its
    /// event recorded. A FUNDING payment may only fail, with nothing sent (its operator refused
    /// to fund it). A payment in any other state is left as it is.
    pub fn finish_outgoing_payment(
        &self,
        id: Uuid,
        outcome: SendingOutcome,
    ) -> Option<OutgoingPayment> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let payment = state.outgoing_payments.by_id.get_mut(&id)?;
        // A payment its operator will not fund fails from FUNDING, with nothing sent.
        let refused_funding = payment.state == OutgoingPaymentState::Funding
            && matches!(outcome, SendingOutcome::Failed { sent: 0, .. });
        if payment.state != OutgoingPaymentState::Sending && !refused_funding {
            return Some(payment.clone());
        }
        payment.state_attempts = payment.state_attempts.saturating_add(1);
        let event_type = match outcome {
            SendingOutcome::Completed { sent } => {
                payment.sent_amount = sent;
                payment.state = OutgoingPaymentState::Completed;
                EventType::OutgoingPaymentCompleted
            }
            SendingOutcome::Failed { sent, reason } => {
                payment.sent_amount = sent;
                payment.state = OutgoingPaymentState::Failed;
                payment.error = Some(reason);
                EventType::OutgoingPaymentFailed
            }
        };
        payment.updated_at = crate::clock::now();
        let event = state.record_outgoing_payment_event(id, event_type);
        let payment = state.outgoing_payments.by_id.get_mut(&id)?;
        payment.finished_event = event;
        let finished = payment.clone();
        let in_flight = state
            .accounting
            .ledger()
            .account(AccountId(id))
            .is_some_and(|a| a.debits_pending > 0 || a.credits_pending > 0);
        if in_flight {
            state.outgoing_payments.finished_in_flight.insert(id);
        }
        // Spent everything: settled now.
        state.note_outgoing_payment(id);
        Some(finished)
    }

    /// Withdraws what a finished payment did not spend (`createOutgoingPaymentWithdrawal`), under
    /// its completed/failed event's id: unknown until the payment has finished; nothing left is
    /// [`LiquidityError::InsufficientBalance`], as Rafiki answers. Returns the amount.
    pub fn create_outgoing_payment_withdrawal(
        &self,
        id: &str,
        mode: WithdrawalMode,
    ) -> Result<u64, LiquidityError> {
        let phase = super::liquidity::phase_of(mode)?;
        let mut guard = self.lock();
        let state = &mut *guard;
        let (account, event) = parse_id(id)
            .and_then(|id| state.outgoing_payments.by_id.get(&id))
            .and_then(|payment| Some((AccountId(payment.id), payment.finished_event?)))
            .ok_or(LiquidityError::UnknownOutgoingPayment)?;
        let balance = state.accounting.ledger().balance(account)?;
        let amount = u64::try_from(balance).map_err(|_| LiquidityError::BalanceOverflow)?;
        if amount == 0 {
            return Err(LiquidityError::InsufficientBalance);
        }
        state
            .accounting
            .withdraw(TransferId::from_uuid(event)?, account, amount, phase)?;
        // At once, it empties the account and settles the payment; two-phase, its post does.
        state.note_outgoing_payment(account.0);
        Ok(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_have_rafikis_names() {
        for state in [
            OutgoingPaymentState::Funding,
            OutgoingPaymentState::Sending,
            OutgoingPaymentState::Completed,
            OutgoingPaymentState::Failed,
        ] {
            assert_eq!(OutgoingPaymentState::parse(state.as_str()), Some(state));
        }
        assert_eq!(OutgoingPaymentState::parse("CANCELLED"), None);
    }
}
