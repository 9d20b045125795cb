//! Outgoing payments: made from a quote (or straight from an incoming payment, quoting on the
//! way), funded by the operator, then paid by the STREAM sender from the payment's own ledger
//! account through this instance's packet path, at the quoted rate, until COMPLETED or FAILED.
//!
//! A payment that meets T04 (a peer's liquidity is short) keeps trying until its quote expires,
//! then fails; whatever it did not send stays in its account for the operator to withdraw.
//! Money is never lost: each packet's amount leaves the payment's account only when fulfilled.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

use super::Payments;
use super::quotes::{NewQuote, QuoteError};
use crate::instance::{
    AmountInAsset, FixedAmount, NewOutgoingPayment, OutgoingPayment, OutgoingPaymentError,
    SendingOutcome,
};
use crate::stream::sender::AssetDetails;
use crate::stream::sender::{
    Amount, Destination, InProcessLink, PaymentOptions, ProbedPath, Ratio, pay_probed,
};

/// What `createOutgoingPaymentFromIncomingPayment` takes.
#[derive(Debug, Clone, Default)]
pub struct NewPaymentFromIncoming {
    pub wallet_address_id: String,
    /// The incoming payment's URL.
    pub incoming_payment: String,
    pub debit_amount: Option<AmountInAsset>,
    pub metadata: Option<Value>,
}

/// Why `createOutgoingPaymentFromIncomingPayment` refused: quoting or creating.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FromIncomingError {
    #[error(transparent)]
    Quote(#[from] QuoteError),
    #[error(transparent)]
    Payment(#[from] OutgoingPaymentError),
}

impl Payments {
    /// `createOutgoingPayment`: FUNDING until the operator funds it.
    pub fn create_outgoing_payment(
        &self,
        new: NewOutgoingPayment,
    ) -> Result<OutgoingPayment, OutgoingPaymentError> {
        self.instance().create_outgoing_payment(new)
    }

    /// `createOutgoingPaymentFromIncomingPayment`: a quote for the incoming payment (its remaining
    /// amount, or `debit_amount`), and the payment made from it at once.
    pub async fn create_outgoing_payment_from_incoming(
        &self,
        new: NewPaymentFromIncoming,
    ) -> Result<OutgoingPayment, FromIncomingError> {
        let quote = self
            .create_quote(NewQuote {
                wallet_address_id: new.wallet_address_id.clone(),
                receiver: new.incoming_payment,
                debit_amount: new.debit_amount,
                receive_amount: None,
            })
            .await?;
        Ok(self.create_outgoing_payment(NewOutgoingPayment {
            wallet_address_id: new.wallet_address_id,
            quote_id: quote.id.to_string(),
            metadata: new.metadata,
        })?)
    }

    /// `depositOutgoingPaymentLiquidity`: funds the payment with its debit amount and starts
    /// paying it in the background. Returns once it is funded (SENDING).
    pub fn fund_outgoing_payment(
        self: &Arc<Self>,
        id: &str,
    ) -> Result<OutgoingPayment, OutgoingPaymentError> {
        let payment = self.instance().fund_outgoing_payment(id, None)?;
        let payments = self.clone();
        let sending = payment.clone();
        tokio::spawn(async move { payments.send(sending).await });
        Ok(payment)
    }

    /// Pays a SENDING payment to its end and records how it ended.
    async fn send(&self, payment: OutgoingPayment) {
        // A closed semaphore would mean the service is going away: the payment stays SENDING.
        let Ok(_turn) = self.sending.acquire().await else {
            return;
        };
        let outcome = self.pay(&payment).await;
        match &outcome {
            SendingOutcome::Completed { sent } => {
                tracing::debug!(payment = %payment.id, sent, "outgoing payment completed");
            }
            SendingOutcome::Failed { sent, reason } => {
                tracing::info!(payment = %payment.id, sent, reason, "outgoing payment failed");
            }
        }
        self.instance().finish_outgoing_payment(payment.id, outcome);
    }

    async fn pay(&self, payment: &OutgoingPayment) -> SendingOutcome {
        let quote = &payment.quote;
        let left = quote
            .expires_at
            .duration_since(crate::clock::now())
            .unwrap_or(Duration::ZERO);
        if left.is_zero() {
            // Rafiki's `LifecycleError.QuoteExpired`.
            return SendingOutcome::Failed {
                sent: 0,
                reason: "QuoteExpired".to_owned(),
            };
        }
        let Some(rate) = Ratio::new(quote.path.rate_numerator, quote.path.rate_denominator) else {
            return SendingOutcome::Failed {
                sent: 0,
                reason: "the quote has no rate".to_owned(),
            };
        };
        let path = ProbedPath {
            rate,
            max_packet: quote.path.max_packet,
            source_address: quote.path.source_address.clone(),
            source_asset: AssetDetails {
                code: quote.debit_amount.asset_code.clone(),
                scale: quote.debit_amount.asset_scale,
            },
            destination_asset: Some(AssetDetails {
                code: quote.receive_amount.asset_code.clone(),
                scale: quote.receive_amount.asset_scale,
            }),
            probe_packets: 0,
            last_sequence: quote.path.last_sequence,
        };
        let amount = match quote.fixed {
            FixedAmount::Send => Amount::Source(quote.debit_amount.value),
            FixedAmount::Receive => Amount::Delivered(quote.receive_amount.value),
        };
        let destination = Destination::Address {
            address: quote.path.destination.clone(),
            shared_secret: quote.path.shared_secret.clone(),
        };
        let link = InProcessLink::from_account(
            self.connector.clone(),
            self.instance().outgoing_payment_account(payment),
        );
        let options = PaymentOptions {
            slippage: self.slippage,
            timeout: left,
            clock: self.instance().clock().clone(),
            ..PaymentOptions::default()
        };
        match pay_probed(&link, &destination, amount, &path, &options).await {
            Ok(report) => SendingOutcome::Completed {
                sent: report.source_amount_sent,
            },
            Err(error) => SendingOutcome::Failed {
                sent: error.report().map_or(0, |report| report.source_amount_sent),
                reason: error.to_string(),
            },
        }
    }
}
