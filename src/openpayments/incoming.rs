//! The incoming-payments resource: `POST {resourceServer}/incoming-payments` creates one,
//! `GET {resourceServer}/incoming-payments/{id}` reads it, both answering Rafiki's Open Payments
//! shape with its `ilp` payment method. No grant is asked for (peerlab does not do GNAP).

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;
use uuid::Uuid;

use crate::instance::{
    AmountInAsset, IncomingPayment, IncomingPaymentError, Instance, NewIncomingPayment,
    WalletAddress,
};
use crate::stream::{ReceiveTarget, StreamReceiver};

/// The largest request body the resource accepts (metadata is bounded below that).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
const PATH: &str = "/incoming-payments";

/// An Open Payments amount: `value` is a string of digits, as the spec has it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AmountJson {
    pub value: String,
    pub asset_code: String,
    pub asset_scale: u8,
}

/// The body of `POST /incoming-payments`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateIncomingPaymentBody {
    pub wallet_address: String,
    #[serde(default)]
    pub incoming_amount: Option<AmountJson>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// Why an incoming payment was not created or found, over HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IncomingRequestError {
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    #[error("invalid amount")]
    InvalidAmount,
    #[error("invalid expiresAt")]
    InvalidExpiry,
    #[error("metadata must be a JSON object")]
    InvalidMetadata,
    #[error("{0}")]
    Service(IncomingPaymentError),
}

impl IncomingRequestError {
    /// Rafiki's HTTP statuses for its incoming payment errors.
    pub fn status(&self) -> u16 {
        match self {
            Self::Service(
                IncomingPaymentError::UnknownWalletAddress | IncomingPaymentError::UnknownPayment,
            ) => 404,
            Self::Service(IncomingPaymentError::TooManyIncomingPayments) => 503,
            _ => 400,
        }
    }
}

/// An amount's digits as an integer: no sign, no fraction, at most u64.
pub fn parse_amount(amount: &AmountJson) -> Option<AmountInAsset> {
    let digits = amount.value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(AmountInAsset {
        value: digits.parse().ok()?,
        asset_code: amount.asset_code.clone(),
        asset_scale: amount.asset_scale,
    })
}

/// An RFC 3339 timestamp (what `toISOString()` writes, and what clients send).
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// `resourceServer`: where a wallet address's Open Payments resources live.
pub fn resource_server(instance: &Instance) -> String {
    instance
        .settings()
        .open_payments_url
        .as_str()
        .trim_end_matches('/')
        .to_owned()
}

/// The incoming payment's URL, its Open Payments `id`.
pub fn incoming_payment_url(instance: &Instance, id: Uuid) -> String {
    format!("{}{PATH}/{id}", resource_server(instance))
}

/// Whether `url` is this instance's incoming-payments collection.
pub fn is_collection_url(instance: &Instance, url: &str) -> bool {
    url == format!("{}{PATH}", resource_server(instance))
}

/// The id in one of this instance's incoming payment URLs.
pub fn incoming_payment_id(instance: &Instance, url: &str) -> Option<Uuid> {
    let prefix = format!("{}{PATH}/", resource_server(instance));
    let rest = url.trim().strip_prefix(&prefix)?;
    Uuid::try_parse(rest).ok()
}

/// Creates an incoming payment from a client's fields (the Open Payments body, or the admin
/// API's `createReceiver` for a local wallet address).
pub fn create(
    instance: &Instance,
    body: CreateIncomingPaymentBody,
) -> Result<(IncomingPayment, std::sync::Arc<WalletAddress>), IncomingRequestError> {
    let wallet = instance.wallet_address_by_url(&body.wallet_address).ok_or(
        IncomingRequestError::Service(IncomingPaymentError::UnknownWalletAddress),
    )?;
    let incoming_amount = body
        .incoming_amount
        .as_ref()
        .map(|amount| parse_amount(amount).ok_or(IncomingRequestError::InvalidAmount))
        .transpose()?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|at| parse_timestamp(at).ok_or(IncomingRequestError::InvalidExpiry))
        .transpose()?;
    if body.metadata.as_ref().is_some_and(|m| !m.is_object()) {
        return Err(IncomingRequestError::InvalidMetadata);
    }
    let payment = instance
        .create_incoming_payment(NewIncomingPayment {
            wallet_address_id: wallet.id,
            incoming_amount,
            expires_at,
            metadata: body.metadata,
        })
        .map_err(IncomingRequestError::Service)?;
    Ok((payment, wallet))
}

fn amount_json(value: u64, code: &str, scale: u8) -> Value {
    json!({ "value": value.to_string(), "assetCode": code, "assetScale": scale })
}

/// Rafiki's Open Payments incoming payment with its `ilp` method (a fresh receiving address
/// whose packets are credited to this payment; the shared secret base64url, as Rafiki's).
pub fn to_open_payments(
    instance: &Instance,
    receiver: &StreamReceiver,
    payment: &IncomingPayment,
    wallet: &WalletAddress,
) -> Value {
    let asset = instance.asset_including_deleted(wallet.asset_id);
    let (code, scale) = asset
        .as_ref()
        .map_or(("", 0), |asset| (asset.code.as_str(), asset.scale));
    let iso = crate::text::iso_timestamp;
    let mut body = json!({
        "id": incoming_payment_url(instance, payment.id),
        "walletAddress": wallet.url,
        "receivedAmount": amount_json(payment.received_amount, code, scale),
        "completed": payment.completed(),
        "expiresAt": iso(payment.expires_at),
        "createdAt": iso(payment.created_at),
        "updatedAt": iso(payment.updated_at),
    });
    if let Some(incoming) = payment.incoming_amount {
        body["incomingAmount"] = amount_json(incoming, code, scale);
    }
    if let Some(metadata) = &payment.metadata {
        body["metadata"] = metadata.clone();
    }
    let methods: Vec<Value> = receiver
        .receiving_address(
            &instance.settings().ilp_address,
            ReceiveTarget::IncomingPayment(payment.id),
        )
        .map(|receiving| {
            json!({
                "type": "ilp",
                "ilpAddress": receiving.destination.as_str(),
                "sharedSecret": receiving.shared_secret_base64url(),
            })
        })
        .into_iter()
        .collect();
    body["methods"] = Value::Array(methods);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(value: &str) -> AmountJson {
        AmountJson {
            value: value.to_owned(),
            asset_code: "USD".to_owned(),
            asset_scale: 2,
        }
    }

    #[test]
    fn amounts_are_digits_within_u64() {
        assert_eq!(parse_amount(&amount("500")).map(|a| a.value), Some(500));
        assert_eq!(parse_amount(&amount("-1")), None);
        assert_eq!(parse_amount(&amount("1.5")), None);
        assert_eq!(parse_amount(&amount("")), None);
        assert_eq!(parse_amount(&amount("18446744073709551616")), None);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert!(parse_timestamp("2030-01-02T03:04:05.678Z").is_some());
        assert!(parse_timestamp("tomorrow").is_none());
    }
}
