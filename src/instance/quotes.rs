//! Quotes, as Rafiki keeps them: what paying a receiver from a wallet address would debit and
//! deliver, at the rate a STREAM probe found, valid for 5 minutes. The probe itself is the
//! payments service's job (`crate::payments::quotes`); a quote also keeps what the probe learned
//! about the path, so that the outgoing payment made from it pays without probing again.
//!
//! Retention: a quote is settled once it expired or an outgoing payment used it (the payment
//! keeps its own copy); the instance keeps the latest settled ones and forgets older ones
//! (`instance::retention`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use thiserror::Error;
use uuid::Uuid;

use super::incoming_payments::AmountInAsset;
use super::retention::{SettledLimit, SettledQueue};
use super::{Instance, parse_id};
use crate::ilp::Address;
use crate::ilp::stream::SharedSecret;

/// Rafiki's `QUOTE_LIFESPAN` default.
pub const QUOTE_LIFESPAN: Duration = Duration::from_secs(5 * 60);
/// How many quotes that are not settled (unexpired and unused) an instance keeps: storing one
/// more is refused. Settled ones are kept up to [`super::SETTLED_RETENTION`] more, the oldest
/// forgotten first.
pub const MAX_QUOTES: usize = 100_000;

/// Which amount the quote fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedAmount {
    /// `debitAmount` was asked for: exactly that leaves.
    Send,
    /// `receiveAmount` (or the incoming payment's amount) was asked for: at least that arrives.
    Receive,
}

/// How the outgoing payment made from this quote reaches the receiver: the receiving address
/// and shared secret the incoming payment gave, and what the probe learned about the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedPath {
    pub destination: Address,
    pub shared_secret: SharedSecret,
    /// The probed rate: `rate_numerator` received per `rate_denominator` sent.
    pub rate_numerator: u64,
    pub rate_denominator: u64,
    pub max_packet: Option<u64>,
    /// The address the sender had during the probe (IL-DCP).
    pub source_address: Address,
    /// The probe's last STREAM sequence number.
    pub last_sequence: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub id: Uuid,
    pub wallet_address_id: Uuid,
    /// The wallet address's asset: what is debited.
    pub asset_id: Uuid,
    /// The incoming payment's URL.
    pub receiver: String,
    pub debit_amount: AmountInAsset,
    pub receive_amount: AmountInAsset,
    pub fixed: FixedAmount,
    /// Received per sent, in each asset's smallest unit.
    pub estimated_exchange_rate: f64,
    pub path: QuotedPath,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
}

impl Quote {
    pub fn expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum QuoteStoreError {
    #[error("too many unexpired, unused quotes on this instance (at most 100000)")]
    TooManyQuotes,
}

/// Quotes by id; those not yet seen settled in creation order (to find the expired ones); the
/// used ones; and the settled ones in the order they settled (for forgetting).
#[derive(Debug, Default)]
pub(super) struct Quotes {
    by_id: HashMap<Uuid, Quote>,
    /// Creation order is expiry order (one lifespan for all, shortened only by the receiver's own
    /// expiry), so expired quotes are found at the front... almost: a receiver-shortened quote
    /// may expire earlier, and waits its turn. Used or forgotten ids are skipped as they reach
    /// the front.
    creation_order: VecDeque<Uuid>,
    /// Kept quotes that an outgoing payment used: never used again.
    used: HashSet<Uuid>,
    settled: SettledQueue,
    /// Kept quotes neither expired (as far as the front of `creation_order` showed) nor used.
    unsettled: usize,
}

impl Quotes {
    pub(super) fn get(&self, id: Uuid) -> Option<&Quote> {
        self.by_id.get(&id)
    }

    /// Whether an outgoing payment used the (kept) quote.
    pub(super) fn used(&self, id: Uuid) -> bool {
        self.used.contains(&id)
    }

    /// An outgoing payment was made from quote `id`: it is settled.
    pub(super) fn mark_used(&mut self, id: Uuid, limit: SettledLimit) {
        if !self.by_id.contains_key(&id) || !self.used.insert(id) {
            return;
        }
        if self.settled.push(id) {
            self.unsettled = self.unsettled.saturating_sub(1);
        }
        self.forget_beyond(limit);
    }

    /// Keeps `quote`, settling the expired quotes first; refused while [`MAX_QUOTES`] are
    /// unexpired and unused.
    fn insert(
        &mut self,
        quote: Quote,
        now: SystemTime,
        limit: SettledLimit,
    ) -> Result<(), QuoteStoreError> {
        self.settle_expired(now);
        self.forget_beyond(limit);
        if self.unsettled >= MAX_QUOTES {
            return Err(QuoteStoreError::TooManyQuotes);
        }
        self.creation_order.push_back(quote.id);
        if self.by_id.insert(quote.id, quote).is_none() {
            self.unsettled += 1;
        }
        Ok(())
    }

    /// Moves the expired quotes at the front of the creation order to the settled queue.
    fn settle_expired(&mut self, now: SystemTime) {
        while let Some(oldest) = self.creation_order.front().copied() {
            let expired = match self.by_id.get(&oldest) {
                // Forgotten, or used (settled when it was used).
                None => false,
                Some(_) if self.used.contains(&oldest) => false,
                Some(quote) if quote.expired(now) => true,
                Some(_) => break,
            };
            self.creation_order.pop_front();
            if expired && self.settled.push(oldest) {
                self.unsettled = self.unsettled.saturating_sub(1);
            }
        }
    }

    /// Forgets the oldest settled quotes beyond `limit`. A settled quote stays settled.
    fn forget_beyond(&mut self, limit: SettledLimit) {
        while self.settled.len() > limit.0 {
            let Some(id) = self.settled.pop_oldest() else {
                break;
            };
            self.by_id.remove(&id);
            self.used.remove(&id);
        }
    }

    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.by_id.len()
    }
}

impl Instance {
    /// Keeps a quote the payments service made.
    pub fn store_quote(&self, quote: Quote) -> Result<Quote, QuoteStoreError> {
        let now = crate::clock::now();
        let mut state = self.lock();
        let limit = state.settled_limit;
        state.quotes.insert(quote.clone(), now, limit)?;
        Ok(quote)
    }

    /// The quote `id`, expired or not, while it is kept.
    pub fn quote(&self, id: &str) -> Option<Quote> {
        let id = parse_id(id)?;
        self.lock().quotes.get(id).cloned()
    }
}
