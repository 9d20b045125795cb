//! The mock operator (`MOCK_OPERATOR=true`): what Rafiki's local environment's mock account
//! servicing entity does with the events it hears, done in process.
//!
//! - `outgoing_payment.created`: reserves the payment's `debitAmount` from the account holder's
//!   balance and funds the payment. A holder whose balance cannot cover it has the payment fail
//!   at once with "Account does not have enough balance." (Rafiki's mock cancels it; v2.4 has no
//!   CANCELLED state, so it fails here).
//! - `outgoing_payment.completed` / `.failed`: the holder pays what was sent and gets the rest
//!   back; what the payment did not spend is withdrawn from its ledger account (Rafiki's mock
//!   leaves that as a TODO, so there it would be counted twice).
//! - `incoming_payment.completed` / `.expired`: what it received is withdrawn and credited to the
//!   holder (`createIncomingPaymentWithdrawal`, posted at once).
//! - `wallet_address.web_monetization`: what the wallet address received by SPSP is withdrawn and
//!   credited to the holder.
//! - `peer.liquidity_low` / `asset.liquidity_low`: deposits 1,000,000.
//!
//! The holders' balances are [`OperatorBooks`]. A wallet address with no balance opened there is
//! funded whatever it sends (the mock's accounts are seeded generously in Rafiki's local
//! environment). Deposits and withdrawals use the event's id as their transfer id, so no event is
//! acted on twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::instance::{EventType, SendingOutcome, WebhookEvent, WithdrawalMode};
use crate::payments::Payments;

/// What Rafiki's mock operator deposits on a `*.liquidity_low` event.
pub const LIQUIDITY_TOP_UP: u64 = 1_000_000;

/// Why the mock operator refuses to fund a payment, as Rafiki's mock says it.
pub const NOT_ENOUGH_BALANCE: &str = "Account does not have enough balance.";

/// One account holder at the operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Holding {
    /// What the holder may spend.
    pub balance: u64,
    /// Reserved for outgoing payments under way.
    pub reserved: u64,
}

/// The operator's books: account holders' balances by wallet address, and what each outgoing
/// payment under way reserved. Bounded by the wallet addresses opened and the payments in flight.
#[derive(Debug, Default)]
pub struct OperatorBooks {
    books: Mutex<Books>,
}

#[derive(Debug, Default)]
struct Books {
    holdings: HashMap<Uuid, Holding>,
    /// Outgoing payment -> (wallet address, amount reserved).
    reservations: HashMap<Uuid, (Uuid, u64)>,
}

impl OperatorBooks {
    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens (or resets) the holder of `wallet_address` with `balance`.
    pub fn open(&self, wallet_address: Uuid, balance: u64) {
        self.books().holdings.insert(
            wallet_address,
            Holding {
                balance,
                reserved: 0,
            },
        );
    }

    /// The holder of `wallet_address`, if one was opened.
    pub fn holding(&self, wallet_address: Uuid) -> Option<Holding> {
        self.books().holdings.get(&wallet_address).copied()
    }

    /// Reserves `amount` for `payment` from its holder; `Ok` too when the wallet address has no
    /// holder (funded whatever it sends). `Err` when the balance cannot cover it.
    fn reserve(&self, payment: Uuid, wallet_address: Uuid, amount: u64) -> Result<(), ()> {
        let mut books = self.books();
        let Some(holding) = books.holdings.get_mut(&wallet_address) else {
            return Ok(());
        };
        let reserved = holding.reserved.checked_add(amount).ok_or(())?;
        holding.balance = holding.balance.checked_sub(amount).ok_or(())?;
        holding.reserved = reserved;
        books.reservations.insert(payment, (wallet_address, amount));
        Ok(())
    }

    /// Ends `payment`'s reservation: it spent `sent` of it (at most what it reserved), the rest
    /// goes back to the holder's balance.
    fn settle(&self, payment: Uuid, sent: u64) {
        let mut books = self.books();
        let Some((wallet_address, amount)) = books.reservations.remove(&payment) else {
            return;
        };
        if let Some(holding) = books.holdings.get_mut(&wallet_address) {
            holding.reserved = holding.reserved.saturating_sub(amount);
            let unspent = amount.saturating_sub(sent);
            holding.balance = holding.balance.saturating_add(unspent);
        }
    }

    /// Credits `amount` the holder of `wallet_address` received, if it has one.
    fn credit(&self, wallet_address: Uuid, amount: u64) {
        if let Some(holding) = self.books().holdings.get_mut(&wallet_address) {
            holding.balance = holding.balance.saturating_add(amount);
        }
    }
}

/// Acts on `events` until `shutdown` turns true.
pub async fn run(
    payments: Arc<Payments>,
    books: Arc<OperatorBooks>,
    mut events: broadcast::Receiver<Arc<WebhookEvent>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = shutdown.changed() => return,
        };
        match event {
            Ok(event) => act(&payments, &books, &event),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the mock operator fell behind and missed events");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

fn uuid_at(data: &Value, field: &str) -> Option<Uuid> {
    data[field].as_str().and_then(|id| Uuid::parse_str(id).ok())
}

fn amount_at(data: &Value, field: &str) -> u64 {
    data[field]["value"]
        .as_str()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

fn act(payments: &Arc<Payments>, books: &OperatorBooks, event: &WebhookEvent) {
    let data = &event.data();
    // A payment's, peer's or asset's id; a web monetization event names its wallet address.
    let Some(id) = uuid_at(data, "id").or_else(|| uuid_at(&data["walletAddress"], "id")) else {
        return;
    };
    let instance = payments.instance();
    let transfer = event.id.to_string();
    let wallet_address = uuid_at(data, "walletAddressId");
    let outcome = match event.event_type {
        EventType::OutgoingPaymentCreated => {
            let debit = amount_at(data, "debitAmount");
            match wallet_address.map(|wallet| books.reserve(id, wallet, debit)) {
                Some(Err(())) => {
                    instance.finish_outgoing_payment(
                        id,
                        SendingOutcome::Failed {
                            sent: 0,
                            reason: NOT_ENOUGH_BALANCE.to_owned(),
                        },
                    );
                    Ok(())
                }
                _ => payments
                    .fund_outgoing_payment(&id.to_string())
                    .map(|_| ())
                    .map_err(|error| {
                        books.settle(id, 0);
                        error.to_string()
                    }),
            }
        }
        EventType::OutgoingPaymentCompleted | EventType::OutgoingPaymentFailed => {
            books.settle(id, amount_at(data, "sentAmount"));
            // Nothing left (everything was sent, or it was never funded) is no error.
            let _ = instance
                .create_outgoing_payment_withdrawal(&id.to_string(), WithdrawalMode::SinglePhase);
            Ok(())
        }
        EventType::IncomingPaymentCompleted | EventType::IncomingPaymentExpired => instance
            .create_incoming_payment_withdrawal(&id.to_string(), WithdrawalMode::SinglePhase)
            .map(|received| {
                if let Some(wallet) = wallet_address {
                    books.credit(wallet, received);
                }
            })
            .map_err(|error| error.to_string()),
        EventType::WalletAddressWebMonetization => instance
            .create_wallet_address_withdrawal(
                &transfer,
                &id.to_string(),
                WithdrawalMode::SinglePhase,
            )
            .map(|received| books.credit(id, received))
            .map_err(|error| error.to_string()),
        EventType::PeerLiquidityLow => instance
            .deposit_peer_liquidity(&transfer, &id.to_string(), LIQUIDITY_TOP_UP)
            .map_err(|error| error.to_string()),
        EventType::AssetLiquidityLow => instance
            .deposit_asset_liquidity(&transfer, &id.to_string(), LIQUIDITY_TOP_UP)
            .map_err(|error| error.to_string()),
        EventType::IncomingPaymentCreated => return,
    };
    match outcome {
        Ok(()) => tracing::debug!(event = event.event_type.as_str(), %id, "mock operator acted"),
        Err(error) => {
            tracing::warn!(event = event.event_type.as_str(), %id, %error, "mock operator could not act");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_books_reserve_settle_and_credit_without_creating_money() {
        let books = OperatorBooks::default();
        let (alice, payment, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        books.open(alice, 1_000);
        assert_eq!(books.reserve(payment, alice, 600), Ok(()));
        assert_eq!(
            books.holding(alice),
            Some(Holding {
                balance: 400,
                reserved: 600
            })
        );
        assert_eq!(
            books.reserve(other, alice, 401),
            Err(()),
            "more than the balance"
        );
        books.settle(payment, 550);
        assert_eq!(
            books.holding(alice),
            Some(Holding {
                balance: 450,
                reserved: 0
            })
        );
        books.settle(payment, 0);
        assert_eq!(
            books.holding(alice).map(|h| h.balance),
            Some(450),
            "settled once"
        );
        books.credit(alice, 50);
        assert_eq!(books.holding(alice).map(|h| h.balance), Some(500));
        // A wallet address with no holder is funded whatever it sends, and has no books.
        assert_eq!(books.reserve(other, Uuid::new_v4(), u64::MAX), Ok(()));
        assert_eq!(books.holding(other), None);
    }
}
