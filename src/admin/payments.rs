//! Quotes and outgoing payments in the admin API, as Rafiki's schema has them: a thin skin over
//! [`crate::payments`]. Refusals are reported in the client's dialect like every mutation's.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use serde::Serialize;

use super::dialect;
use super::mutation::{Done, idempotent_async, liquidity};
use super::outcome::{Outcome, Refusal};
use super::scalars::{JsonObject, UInt8, UInt64};
use super::types::{Amount, AmountInput, LiquidityMutationResponse, PageInfo, Payload};
use crate::instance::{
    self, AmountInAsset, Instance, LiquidityError, NewOutgoingPayment, OutgoingPaymentError, Page,
    WithdrawalMode,
};
use crate::payments::Payments;
use crate::payments::outgoing::NewPaymentFromIncoming;
use crate::payments::quotes::NewQuote;
use crate::text::iso_timestamp;

fn payments<'a>(ctx: &Context<'a>) -> &'a Arc<Payments> {
    ctx.data_unchecked::<Arc<Payments>>()
}

fn amount(amount: &AmountInAsset) -> Amount {
    Amount {
        value: UInt64(amount.value),
        asset_code: amount.asset_code.clone(),
        asset_scale: UInt8(amount.asset_scale),
    }
}

fn amount_input(input: Option<AmountInput>) -> Option<AmountInAsset> {
    input.map(|input| AmountInAsset {
        value: input.value.0,
        asset_code: input.asset_code,
        asset_scale: input.asset_scale.0,
    })
}

/// Rafiki's `Quote`.
#[derive(Debug, Clone)]
pub struct Quote(pub instance::Quote);

#[Object]
impl Quote {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn wallet_address_id(&self) -> ID {
        ID(self.0.wallet_address_id.to_string())
    }
    /// The incoming payment's URL.
    async fn receiver(&self) -> &str {
        &self.0.receiver
    }
    /// What the payment takes from the sender's wallet address: for a fixed receive amount, the
    /// most it may cost at the quoted rate less 1% slippage.
    async fn debit_amount(&self) -> Amount {
        amount(&self.0.debit_amount)
    }
    /// What the receiver gets: for a fixed debit amount, the least it gets at the quoted rate
    /// less 1% slippage.
    async fn receive_amount(&self) -> Amount {
        amount(&self.0.receive_amount)
    }
    async fn created_at(&self) -> String {
        iso_timestamp(self.0.created_at)
    }
    /// 5 minutes after creation, or the incoming payment's expiry if sooner.
    async fn expires_at(&self) -> String {
        iso_timestamp(self.0.expires_at)
    }
    /// Received per sent, in each asset's smallest unit, as the rate probe found it.
    async fn estimated_exchange_rate(&self) -> Option<f64> {
        Some(self.0.estimated_exchange_rate)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum OutgoingPaymentState {
    Funding,
    Sending,
    Completed,
    Failed,
}

impl From<instance::OutgoingPaymentState> for OutgoingPaymentState {
    fn from(state: instance::OutgoingPaymentState) -> Self {
        match state {
            instance::OutgoingPaymentState::Funding => Self::Funding,
            instance::OutgoingPaymentState::Sending => Self::Sending,
            instance::OutgoingPaymentState::Completed => Self::Completed,
            instance::OutgoingPaymentState::Failed => Self::Failed,
        }
    }
}

/// Rafiki's `OutgoingPayment`.
#[derive(Debug, Clone)]
pub struct OutgoingPayment(pub instance::OutgoingPayment);

#[Object]
impl OutgoingPayment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn wallet_address_id(&self) -> ID {
        ID(self.0.wallet_address_id.to_string())
    }
    /// What the payment holds now: funded and not yet sent or withdrawn.
    async fn liquidity(&self, ctx: &Context<'_>) -> Option<UInt64> {
        Some(UInt64(
            ctx.data_unchecked::<Arc<Instance>>()
                .outgoing_payment_liquidity(self.0.id),
        ))
    }
    async fn state(&self) -> OutgoingPaymentState {
        self.0.state.into()
    }
    /// Why the payment failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn state_attempts(&self) -> i32 {
        i32::try_from(self.0.state_attempts).unwrap_or(i32::MAX)
    }
    async fn debit_amount(&self) -> Amount {
        amount(self.0.debit_amount())
    }
    async fn receive_amount(&self) -> Amount {
        amount(self.0.receive_amount())
    }
    /// The incoming payment's URL.
    async fn receiver(&self) -> &str {
        self.0.receiver()
    }
    async fn metadata(&self) -> Option<JsonObject> {
        self.0.metadata.clone().map(JsonObject)
    }
    async fn quote(&self) -> Option<Quote> {
        Some(Quote(self.0.quote.clone()))
    }
    /// What left the sender's side: fulfilled packets, in the debit asset.
    async fn sent_amount(&self) -> Amount {
        let debit = self.0.debit_amount();
        Amount {
            value: UInt64(self.0.sent_amount),
            asset_code: debit.asset_code.clone(),
            asset_scale: UInt8(debit.asset_scale),
        }
    }
    async fn created_at(&self) -> String {
        iso_timestamp(self.0.created_at)
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct OutgoingPaymentEdge {
    node: OutgoingPayment,
    cursor: String,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct OutgoingPaymentConnection {
    page_info: PageInfo,
    edges: Vec<OutgoingPaymentEdge>,
}

impl From<Page<instance::OutgoingPayment>> for OutgoingPaymentConnection {
    fn from(page: Page<instance::OutgoingPayment>) -> Self {
        Self {
            page_info: PageInfo::of(&page, |p| p.id.to_string()),
            edges: page
                .items
                .into_iter()
                .map(|payment| OutgoingPaymentEdge {
                    cursor: payment.id.to_string(),
                    node: OutgoingPayment(payment),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, InputObject)]
pub struct CreateQuoteInput {
    pub wallet_address_id: String,
    /// Fixed send: exactly this leaves the wallet address (its asset).
    pub debit_amount: Option<AmountInput>,
    /// Fixed receive: at least this arrives (the receiver's asset).
    pub receive_amount: Option<AmountInput>,
    /// The incoming payment's URL.
    pub receiver: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, InputObject)]
pub struct CreateOutgoingPaymentInput {
    pub wallet_address_id: String,
    pub quote_id: String,
    pub metadata: Option<JsonObject>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, InputObject)]
pub struct CreateOutgoingPaymentFromIncomingPaymentInput {
    pub wallet_address_id: String,
    /// The incoming payment's URL.
    pub incoming_payment: String,
    /// Fixed send; without it, the incoming payment's remaining amount is to arrive.
    pub debit_amount: Option<AmountInput>,
    pub metadata: Option<JsonObject>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, InputObject)]
pub struct DepositOutgoingPaymentLiquidityInput {
    pub outgoing_payment_id: String,
    pub idempotency_key: String,
    /// Accepted for Rafiki's clients; peerlab's STREAM sender carries no application data.
    pub data_to_transmit: Option<String>,
}

#[derive(Debug, Clone, Serialize, InputObject)]
pub struct CreateOutgoingPaymentWithdrawalInput {
    pub outgoing_payment_id: String,
    pub idempotency_key: String,
    /// 0: single-phase, posted at once. N: two-phase, voided after N seconds unless posted.
    pub timeout_seconds: UInt64,
}

super::types::payload!(QuoteResponse { quote: Option<Quote> });
super::types::payload!(OutgoingPaymentResponse { payment: Option<OutgoingPayment> });

fn ok<T: Payload>(message: &str, set: impl FnOnce(&mut T)) -> Done<T> {
    let mut payload = T::from_outcome(Outcome::ok(message));
    set(&mut payload);
    Ok(payload)
}

/// The payment mutations, merged into the schema's mutation root.
#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Probes the rate to the receiver (an incoming payment URL) over STREAM and prices the
    /// payment: `debitAmount` (fixed send) or `receiveAmount` (fixed receive), or neither to pay
    /// what the incoming payment still expects. Valid for 5 minutes.
    async fn create_quote(
        &self,
        ctx: &Context<'_>,
        input: CreateQuoteInput,
    ) -> Result<QuoteResponse> {
        let new = NewQuote {
            wallet_address_id: input.wallet_address_id.clone(),
            receiver: input.receiver.clone(),
            debit_amount: amount_input(input.debit_amount.clone()),
            receive_amount: amount_input(input.receive_amount.clone()),
        };
        let operation = async {
            match payments(ctx).create_quote(new).await {
                Ok(quote) => ok("Created quote", |p: &mut QuoteResponse| {
                    p.quote = Some(Quote(quote))
                }),
                Err(error) => Err(error.into()),
            }
        };
        let key = input.idempotency_key.as_deref();
        let result = idempotent_async(ctx, "createQuote", key, &input, operation).await;
        dialect::report(ctx, result)
    }

    /// An outgoing payment from a quote, FUNDING until `depositOutgoingPaymentLiquidity`.
    async fn create_outgoing_payment(
        &self,
        ctx: &Context<'_>,
        input: CreateOutgoingPaymentInput,
    ) -> Result<OutgoingPaymentResponse> {
        let new = NewOutgoingPayment {
            wallet_address_id: input.wallet_address_id.clone(),
            quote_id: input.quote_id.clone(),
            metadata: input.metadata.clone().map(|metadata| metadata.0),
        };
        let operation = async {
            payment_payload(
                payments(ctx)
                    .create_outgoing_payment(new)
                    .map_err(Into::into),
            )
        };
        let key = input.idempotency_key.as_deref();
        let result = idempotent_async(ctx, "createOutgoingPayment", key, &input, operation).await;
        dialect::report(ctx, result)
    }

    /// Quotes the incoming payment and makes the outgoing payment at once.
    async fn create_outgoing_payment_from_incoming_payment(
        &self,
        ctx: &Context<'_>,
        input: CreateOutgoingPaymentFromIncomingPaymentInput,
    ) -> Result<OutgoingPaymentResponse> {
        let new = NewPaymentFromIncoming {
            wallet_address_id: input.wallet_address_id.clone(),
            incoming_payment: input.incoming_payment.clone(),
            debit_amount: amount_input(input.debit_amount.clone()),
            metadata: input.metadata.clone().map(|metadata| metadata.0),
        };
        let operation = async {
            payment_payload(
                payments(ctx)
                    .create_outgoing_payment_from_incoming(new)
                    .await
                    .map_err(Into::into),
            )
        };
        let key = input.idempotency_key.as_deref();
        let name = "createOutgoingPaymentFromIncomingPayment";
        let result = idempotent_async(ctx, name, Some(key).flatten(), &input, operation).await;
        dialect::report(ctx, result)
    }

    /// Funds a FUNDING payment with its debit amount; it is then paid (SENDING, then COMPLETED
    /// or FAILED).
    async fn deposit_outgoing_payment_liquidity(
        &self,
        ctx: &Context<'_>,
        input: DepositOutgoingPaymentLiquidityInput,
    ) -> Result<Option<LiquidityMutationResponse>> {
        let operation = async {
            let funded = payments(ctx).fund_outgoing_payment(&input.outgoing_payment_id);
            liquidity(
                funded.map(|_| ()),
                "Deposited liquidity",
                |error| match error {
                    // Rafiki looks up the payment's `outgoing_payment.created` event first, and
                    // finds none for an unknown payment: "Invalid transfer id".
                    OutgoingPaymentError::UnknownPayment => LiquidityError::InvalidId.into(),
                    error => error.into(),
                },
            )
        };
        let key = Some(input.idempotency_key.as_str());
        let result = idempotent_async(
            ctx,
            "depositOutgoingPaymentLiquidity",
            key,
            &input,
            operation,
        )
        .await;
        dialect::report_nullable(ctx, result)
    }

    /// Withdraws what a COMPLETED or FAILED payment did not spend.
    async fn create_outgoing_payment_withdrawal(
        &self,
        ctx: &Context<'_>,
        input: CreateOutgoingPaymentWithdrawalInput,
    ) -> Result<Option<LiquidityMutationResponse>> {
        let operation = async {
            let mode = WithdrawalMode::from_timeout_seconds(Some(input.timeout_seconds.0));
            let withdrawn = payments(ctx)
                .instance()
                .create_outgoing_payment_withdrawal(&input.outgoing_payment_id, mode);
            liquidity(withdrawn.map(|_| ()), "Withdrew liquidity", Refusal::from)
        };
        let key = Some(input.idempotency_key.as_str());
        let result = idempotent_async(
            ctx,
            "createOutgoingPaymentWithdrawal",
            key,
            &input,
            operation,
        )
        .await;
        dialect::report_nullable(ctx, result)
    }
}

fn payment_payload(
    result: std::result::Result<instance::OutgoingPayment, Refusal>,
) -> Done<OutgoingPaymentResponse> {
    match result {
        Ok(payment) => ok(
            "Created outgoing payment",
            |p: &mut OutgoingPaymentResponse| p.payment = Some(OutgoingPayment(payment)),
        ),
        Err(refusal) => Err(refusal),
    }
}

/// The payment queries, merged into the schema's query root.
#[derive(Default)]
pub struct PaymentQuery;

#[Object]
impl PaymentQuery {
    /// A quote by id. When there is none: "quote does not exist" (NOT_FOUND), as Rafiki answers;
    /// null when `ADMIN_API_DIALECT=seed`.
    async fn quote(&self, ctx: &Context<'_>, id: String) -> Result<Option<Quote>> {
        match payments(ctx).instance().quote(&id) {
            Some(quote) => Ok(Some(Quote(quote))),
            None => dialect::not_found(ctx, Refusal::lookup_not_found("quote does not exist")),
        }
    }

    /// An outgoing payment by id. When there is none: "payment does not exist" (NOT_FOUND), as
    /// Rafiki answers; null when `ADMIN_API_DIALECT=seed`.
    async fn outgoing_payment(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> Result<Option<OutgoingPayment>> {
        match payments(ctx).instance().outgoing_payment(&id) {
            Some(payment) => Ok(Some(OutgoingPayment(payment))),
            None => dialect::not_found(ctx, Refusal::lookup_not_found("payment does not exist")),
        }
    }
}
