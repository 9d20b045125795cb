//! Quotes, as Rafiki keeps them: what paying a receiver from a wallet address would debit and
//! deliver, at the rate a STREAM probe found, valid for 5 minutes. The probe itself is the
//! payments service's job (`crate::payments::quotes`); a quote also keeps what the probe learned
//! about the path, so that the outgoing payment made from it pays without probing again.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use thiserror::Error;
use uuid::Uuid;

use super::incoming_payments::AmountInAsset;
use super::{Instance, parse_id};
use crate::ilp::Address;
use crate::ilp::stream::SharedSecret;

/// Rafiki's `QUOTE_LIFESPAN` default.
pub const QUOTE_LIFESPAN: Duration = Duration::from_secs(5 * 60);
/// How many quotes an instance keeps; expired ones make room first.
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
    #[error("too many unexpired quotes on this instance (at most 100000)")]
    TooManyQuotes,
}

/// Quotes by id, and in creation order (for eviction).
#[derive(Debug, Default)]
pub(super) struct Quotes {
    by_id: HashMap<Uuid, Quote>,
    order: VecDeque<Uuid>,
}

impl Quotes {
    pub(super) fn get(&self, id: Uuid) -> Option<&Quote> {
        self.by_id.get(&id)
    }

    /// Keeps `quote`, dropping expired quotes (oldest first) to stay within [`MAX_QUOTES`].
    fn insert(&mut self, quote: Quote, now: SystemTime) -> Result<(), QuoteStoreError> {
        while self.order.len() >= MAX_QUOTES {
            // Creation order is expiry order (one lifespan for all, shortened only by the
            // receiver's own expiry), so an unexpired oldest means none has expired... almost:
            // a receiver-shortened quote may expire earlier, and waits its turn.
            let Some(oldest) = self.order.front().copied() else {
                break;
            };
            match self.by_id.get(&oldest) {
                Some(quote) if !quote.expired(now) => return Err(QuoteStoreError::TooManyQuotes),
                _ => {
                    self.order.pop_front();
                    self.by_id.remove(&oldest);
                }
            }
        }
        self.order.push_back(quote.id);
        self.by_id.insert(quote.id, quote);
        Ok(())
    }
}

impl Instance {
    /// Keeps a quote the payments service made.
    pub fn store_quote(&self, quote: Quote) -> Result<Quote, QuoteStoreError> {
        let now = SystemTime::now();
        self.lock().quotes.insert(quote.clone(), now)?;
        Ok(quote)
    }

    /// The quote `id`, expired or not, while it is kept.
    pub fn quote(&self, id: &str) -> Option<Quote> {
        let id = parse_id(id)?;
        self.lock().quotes.get(id).cloned()
    }
}
