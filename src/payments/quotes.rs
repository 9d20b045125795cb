//! Quotes (`createQuote`), as Rafiki makes them: checks in Rafiki's order, the receiver resolved
//! (here or over Open Payments), then a STREAM rate probe from the wallet address through this
//! instance's packet path, and the amounts at the probed rate less Rafiki's 1% slippage.
//! Probes are unfulfillable and reserve no liquidity here, as Rafiki's; the next hops do hold
//! their amounts while they pass (Rafiki's "T04 while quoting" when a peer's liquidity is short).

use std::time::{Duration, SystemTime};

use thiserror::Error;
use uuid::Uuid;

use super::Payments;
use super::receiver::{ResolvedReceiver, resolve_receiver};
use crate::instance::{
    AmountInAsset, FixedAmount, LocalAccount, Quote, QuoteStoreError, QuotedPath,
};
use crate::stream::sender::rate::{minimum_delivery, most_source_for_delivery};
use crate::stream::sender::{Amount, Destination, InProcessLink, PaymentOptions, probe_path};

/// Rafiki's quote lifespan.
pub use crate::instance::quotes::QUOTE_LIFESPAN;
/// The longest a rate probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// What `createQuote` takes.
#[derive(Debug, Clone, Default)]
pub struct NewQuote {
    pub wallet_address_id: String,
    /// The incoming payment's URL.
    pub receiver: String,
    pub debit_amount: Option<AmountInAsset>,
    pub receive_amount: Option<AmountInAsset>,
}

/// Rafiki's `QuoteErrorCode`s (their messages), its ILP quoting failure, and peerlab's bound.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuoteError {
    #[error("unknown wallet address")]
    UnknownWalletAddress,
    #[error("inactive wallet address")]
    InactiveWalletAddress,
    #[error("invalid amount")]
    InvalidAmount,
    #[error("invalid receiver")]
    InvalidReceiver,
    #[error("non-positive receive amount")]
    NonPositiveReceiveAmount,
    /// The probe found no way to the receiver, or no rate: the reason (a reject, a timeout).
    #[error("Received error during ILP quoting: {0}")]
    QuotingFailed(String),
    #[error("{0}")]
    Store(#[from] QuoteStoreError),
}

impl Payments {
    /// Quotes paying `new.receiver` from a wallet address of this instance.
    pub async fn create_quote(&self, new: NewQuote) -> Result<Quote, QuoteError> {
        let instance = self.instance();
        if new.debit_amount.is_some() && new.receive_amount.is_some() {
            return Err(QuoteError::InvalidAmount);
        }
        let wallet = Uuid::try_parse(new.wallet_address_id.trim())
            .ok()
            .and_then(|id| instance.wallet_address_by_id(id))
            .ok_or(QuoteError::UnknownWalletAddress)?;
        if !wallet.active {
            return Err(QuoteError::InactiveWalletAddress);
        }
        let asset = instance
            .asset_including_deleted(wallet.asset_id)
            .ok_or(QuoteError::UnknownWalletAddress)?;
        if let Some(debit) = &new.debit_amount
            && (debit.value == 0
                || debit.asset_code != asset.code
                || debit.asset_scale != asset.scale)
        {
            return Err(QuoteError::InvalidAmount);
        }
        if new.receive_amount.as_ref().is_some_and(|a| a.value == 0) {
            return Err(QuoteError::InvalidAmount);
        }
        let stream = self.connector.receiver();
        let receiver = resolve_receiver(instance, stream, &self.open_payments, &new.receiver)
            .await
            .map_err(|_| QuoteError::InvalidReceiver)?;
        let now = crate::clock::now();
        if !receiver.is_active(now) {
            return Err(QuoteError::InvalidReceiver);
        }
        let receiver_asset = &receiver.record.received_amount;
        let (fixed, amount) = match (&new.debit_amount, &new.receive_amount) {
            (Some(debit), _) => (FixedAmount::Send, Amount::Source(debit.value)),
            (None, Some(receive)) => {
                if receive.asset_code != receiver_asset.asset_code
                    || receive.asset_scale != receiver_asset.asset_scale
                    || receiver
                        .remaining()
                        .is_some_and(|left| left < receive.value)
                {
                    return Err(QuoteError::InvalidAmount);
                }
                (FixedAmount::Receive, Amount::Delivered(receive.value))
            }
            // Neither: what the incoming payment still expects.
            (None, None) => match receiver.remaining() {
                Some(left) if left > 0 => (FixedAmount::Receive, Amount::Delivered(left)),
                _ => return Err(QuoteError::InvalidAmount),
            },
        };
        let prober = LocalAccount {
            id: wallet.id,
            asset_id: wallet.asset_id,
            address: instance.settings().ilp_address.clone(),
            unfulfillable: true,
        };
        let link = InProcessLink::from_account(self.connector.clone(), prober);
        let destination = Destination::Address {
            address: receiver.receiving.destination.clone(),
            shared_secret: receiver.receiving.shared_secret.clone(),
        };
        let options = PaymentOptions {
            slippage: self.slippage,
            timeout: PROBE_TIMEOUT,
            clock: self.instance().clock().clone(),
            ..PaymentOptions::default()
        };
        let path = probe_path(&link, &destination, amount, &options)
            .await
            .map_err(|error| QuoteError::QuotingFailed(error.to_string()))?;
        let (debit_value, receive_value) = match amount {
            Amount::Source(debit) => {
                let receive = minimum_delivery(debit, path.rate, self.slippage);
                (debit, receive)
            }
            Amount::Delivered(receive) => {
                let debit = most_source_for_delivery(receive, path.rate, self.slippage)
                    .ok_or(QuoteError::NonPositiveReceiveAmount)?;
                (debit, receive)
            }
        };
        if receive_value == 0 {
            return Err(QuoteError::NonPositiveReceiveAmount);
        }
        let expires_at = quote_expiry(now, &receiver);
        let quote = Quote {
            id: crate::entropy::uuid(),
            wallet_address_id: wallet.id,
            asset_id: wallet.asset_id,
            receiver: receiver.record.id.clone(),
            debit_amount: AmountInAsset {
                value: debit_value,
                asset_code: asset.code.clone(),
                asset_scale: asset.scale,
            },
            receive_amount: AmountInAsset {
                value: receive_value,
                asset_code: receiver_asset.asset_code.clone(),
                asset_scale: receiver_asset.asset_scale,
            },
            fixed,
            estimated_exchange_rate: path.rate.to_f64(),
            path: QuotedPath {
                destination: receiver.receiving.destination.clone(),
                shared_secret: receiver.receiving.shared_secret.clone(),
                rate_numerator: path.rate.numerator(),
                rate_denominator: path.rate.denominator(),
                max_packet: path.max_packet,
                source_address: path.source_address.clone(),
                last_sequence: path.last_sequence,
            },
            created_at: now,
            expires_at,
        };
        Ok(instance.store_quote(quote)?)
    }
}

/// Rafiki's: the quote lifespan, or the receiver's own expiry when that comes first.
fn quote_expiry(now: SystemTime, receiver: &ResolvedReceiver) -> SystemTime {
    let lifespan_end = now + QUOTE_LIFESPAN;
    receiver
        .record
        .expires_at
        .as_deref()
        .and_then(crate::openpayments::incoming::parse_timestamp)
        .map_or(lifespan_end, |at| at.min(lifespan_end))
}
