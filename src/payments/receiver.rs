//! Receivers, as Rafiki's admin API has them: an incoming payment at a wallet address, whether
//! the wallet address is this instance's (created here) or another Open Payments server's
//! (created there: the wallet address document names its `resourceServer`, and the incoming
//! payment is POSTed to it, without a grant since peerlab does not do GNAP).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::instance::{IncomingPayment, IncomingPaymentError, Instance, WalletAddress};
use crate::openpayments::incoming::{
    self, AmountJson, CreateIncomingPaymentBody, IncomingRequestError,
};
use crate::stream::sender::destination::receiving_address;
use crate::stream::{ReceiveTarget, ReceivingAddress, StreamReceiver};
use crate::text::iso_timestamp;

/// How long each request to a remote Open Payments server may take.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from a remote Open Payments server.
const MAX_REMOTE_ANSWER_BYTES: usize = 64 * 1024;

/// An amount: value in the asset's smallest unit, the asset's code and scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverAmount {
    pub value: u64,
    pub asset_code: String,
    pub asset_scale: u8,
}

/// Rafiki's `Receiver`: an incoming payment seen from the paying side.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverRecord {
    /// The incoming payment's URL.
    pub id: String,
    pub wallet_address_url: String,
    pub completed: bool,
    pub incoming_amount: Option<ReceiverAmount>,
    pub received_amount: ReceiverAmount,
    pub expires_at: Option<String>,
    pub metadata: Option<Value>,
    pub created_at: String,
}

/// Rafiki's `RemoteIncomingPaymentError`s (its messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RemoteIncomingPaymentError {
    #[error("unknown incoming payment")]
    NotFound,
    #[error("unknown wallet address")]
    UnknownWalletAddress,
    #[error("invalid remote incoming payment request")]
    InvalidRequest,
}

/// Why a receiver was not created: Rafiki's `ReceiverError` (local or remote), or input the
/// local resource refuses before the service sees it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiverError {
    #[error("{0}")]
    Local(IncomingPaymentError),
    #[error("{0}")]
    Remote(RemoteIncomingPaymentError),
    #[error("{0}")]
    InvalidInput(String),
}

impl From<IncomingRequestError> for ReceiverError {
    fn from(error: IncomingRequestError) -> Self {
        match error {
            IncomingRequestError::Service(error) => Self::Local(error),
            IncomingRequestError::InvalidAmount => Self::Local(IncomingPaymentError::InvalidAmount),
            IncomingRequestError::InvalidExpiry => Self::Local(IncomingPaymentError::InvalidExpiry),
            other => Self::InvalidInput(other.to_string()),
        }
    }
}

/// What the admin API's `createReceiver` takes.
#[derive(Debug, Clone)]
pub struct NewReceiver {
    pub wallet_address_url: String,
    pub incoming_amount: Option<ReceiverAmount>,
    pub expires_at: Option<String>,
    pub metadata: Option<Value>,
}

fn amount_of(instance: &Instance, wallet: &WalletAddress, value: u64) -> ReceiverAmount {
    let asset = instance.asset_including_deleted(wallet.asset_id);
    ReceiverAmount {
        value,
        asset_code: asset.as_ref().map(|a| a.code.clone()).unwrap_or_default(),
        asset_scale: asset.map_or(0, |a| a.scale),
    }
}

/// A local incoming payment as a receiver.
pub fn local_receiver(
    instance: &Instance,
    payment: &IncomingPayment,
    wallet: &WalletAddress,
) -> ReceiverRecord {
    ReceiverRecord {
        id: incoming::incoming_payment_url(instance, payment.id),
        wallet_address_url: wallet.url.clone(),
        completed: payment.completed(),
        incoming_amount: payment
            .incoming_amount
            .map(|value| amount_of(instance, wallet, value)),
        received_amount: amount_of(instance, wallet, payment.received_amount),
        expires_at: Some(iso_timestamp(payment.expires_at)),
        metadata: payment.metadata.clone(),
        created_at: iso_timestamp(payment.created_at),
    }
}

/// Whether `url` lies under this instance's Open Payments URL (then it is local, known or not).
fn is_local(instance: &Instance, url: &str) -> bool {
    let base = incoming::resource_server(instance).to_lowercase();
    let url = url.trim().to_lowercase();
    url == base || url.starts_with(&format!("{base}/"))
}

/// HTTP to other Open Payments servers, keeping connections alive between requests (one per
/// instance: its pool lives on the instance's runtime).
#[derive(Debug, Clone)]
pub struct OpenPaymentsClient {
    client: Client<crate::net::HttpConnector, Full<Bytes>>,
}

impl Default for OpenPaymentsClient {
    fn default() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(crate::net::HttpConnector::new(
                std::time::Duration::from_secs(10),
            )),
        }
    }
}

/// Creates the incoming payment at the wallet address's instance: here, or over Open Payments.
pub async fn create_receiver(
    instance: &Instance,
    client: &OpenPaymentsClient,
    new: NewReceiver,
) -> Result<ReceiverRecord, ReceiverError> {
    let amount = new.incoming_amount.as_ref().map(|amount| AmountJson {
        value: amount.value.to_string(),
        asset_code: amount.asset_code.clone(),
        asset_scale: amount.asset_scale,
    });
    if is_local(instance, &new.wallet_address_url) {
        let body = CreateIncomingPaymentBody {
            wallet_address: new.wallet_address_url,
            incoming_amount: amount,
            expires_at: new.expires_at,
            metadata: new.metadata,
        };
        let (payment, wallet) = incoming::create(instance, body)?;
        return Ok(local_receiver(instance, &payment, &wallet));
    }
    let document = client
        .get_json(
            &new.wallet_address_url,
            RemoteIncomingPaymentError::UnknownWalletAddress,
        )
        .await?;
    let (Some(wallet_id), Some(resource_server)) =
        (document["id"].as_str(), document["resourceServer"].as_str())
    else {
        return Err(ReceiverError::Remote(
            RemoteIncomingPaymentError::UnknownWalletAddress,
        ));
    };
    let mut body = json!({ "walletAddress": wallet_id });
    if let Some(amount) = &new.incoming_amount {
        body["incomingAmount"] = json!({
            "value": amount.value.to_string(),
            "assetCode": amount.asset_code,
            "assetScale": amount.asset_scale,
        });
    }
    if let Some(expires_at) = &new.expires_at {
        body["expiresAt"] = json!(expires_at);
    }
    if let Some(metadata) = &new.metadata {
        body["metadata"] = metadata.clone();
    }
    let url = format!(
        "{}/incoming-payments",
        resource_server.trim_end_matches('/')
    );
    let answer = client.post_json(&url, &body).await?;
    parse_remote(&answer).ok_or(ReceiverError::Remote(
        RemoteIncomingPaymentError::InvalidRequest,
    ))
}

/// The receiver at `url`: a local incoming payment, or one read over Open Payments.
pub async fn receiver(
    instance: &Instance,
    client: &OpenPaymentsClient,
    url: &str,
) -> Result<ReceiverRecord, ReceiverError> {
    if is_local(instance, url) {
        let unknown = ReceiverError::Local(IncomingPaymentError::UnknownPayment);
        let id = incoming::incoming_payment_id(instance, url).ok_or(unknown.clone())?;
        let payment = instance.incoming_payment_by_id(id).ok_or(unknown.clone())?;
        let wallet = instance
            .wallet_address_by_id(payment.wallet_address_id)
            .ok_or(unknown)?;
        return Ok(local_receiver(instance, &payment, &wallet));
    }
    let answer = client
        .get_json(url, RemoteIncomingPaymentError::NotFound)
        .await?;
    parse_remote(&answer).ok_or(ReceiverError::Remote(RemoteIncomingPaymentError::NotFound))
}

/// A receiver ready to be paid: its record, where its packets go, and whether it is this
/// instance's own incoming payment.
#[derive(Debug, Clone)]
pub struct ResolvedReceiver {
    pub record: ReceiverRecord,
    pub receiving: ReceivingAddress,
    pub local: bool,
}

impl ResolvedReceiver {
    /// Still takes money: neither completed nor expired.
    pub fn is_active(&self, now: SystemTime) -> bool {
        let expired = self
            .record
            .expires_at
            .as_deref()
            .and_then(incoming::parse_timestamp)
            .is_some_and(|at| at <= now);
        !self.record.completed && !expired
    }

    /// How much it still expects, when it asked for an amount.
    pub fn remaining(&self) -> Option<u64> {
        let incoming = self.record.incoming_amount.as_ref()?;
        Some(
            incoming
                .value
                .saturating_sub(self.record.received_amount.value),
        )
    }
}

/// The receiver at `url` with its `ilp` payment method: a local incoming payment (its receiving
/// address made here by `stream`), or one read over Open Payments.
pub async fn resolve_receiver(
    instance: &Instance,
    stream: &StreamReceiver,
    client: &OpenPaymentsClient,
    url: &str,
) -> Result<ResolvedReceiver, ReceiverError> {
    if is_local(instance, url) {
        let unknown = ReceiverError::Local(IncomingPaymentError::UnknownPayment);
        let id = incoming::incoming_payment_id(instance, url).ok_or(unknown.clone())?;
        let payment = instance.incoming_payment_by_id(id).ok_or(unknown.clone())?;
        let wallet = instance
            .wallet_address_by_id(payment.wallet_address_id)
            .ok_or(unknown.clone())?;
        let receiving = stream
            .receiving_address(
                &instance.settings().ilp_address,
                ReceiveTarget::IncomingPayment(payment.id),
            )
            .ok_or(unknown)?;
        return Ok(ResolvedReceiver {
            record: local_receiver(instance, &payment, &wallet),
            receiving,
            local: true,
        });
    }
    let not_found = ReceiverError::Remote(RemoteIncomingPaymentError::NotFound);
    let answer = client
        .get_json(url, RemoteIncomingPaymentError::NotFound)
        .await?;
    let record = parse_remote(&answer).ok_or(not_found.clone())?;
    let method = answer["methods"]
        .as_array()
        .and_then(|methods| methods.iter().find(|method| method["type"] == "ilp"))
        .ok_or(not_found.clone())?;
    let (Some(address), Some(secret)) = (
        method["ilpAddress"].as_str(),
        method["sharedSecret"].as_str(),
    ) else {
        return Err(not_found);
    };
    let receiving = receiving_address(address, secret).map_err(|_| not_found)?;
    Ok(ResolvedReceiver {
        record,
        receiving,
        local: false,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoteIncomingPayment {
    id: String,
    wallet_address: String,
    #[serde(default)]
    completed: bool,
    incoming_amount: Option<AmountJson>,
    received_amount: AmountJson,
    expires_at: Option<String>,
    metadata: Option<Value>,
    created_at: String,
}

fn remote_amount(amount: &AmountJson) -> Option<ReceiverAmount> {
    let parsed = incoming::parse_amount(amount)?;
    Some(ReceiverAmount {
        value: parsed.value,
        asset_code: parsed.asset_code,
        asset_scale: parsed.asset_scale,
    })
}

fn parse_remote(answer: &Value) -> Option<ReceiverRecord> {
    let payment = RemoteIncomingPayment::deserialize(answer).ok()?;
    let incoming_amount = match &payment.incoming_amount {
        Some(amount) => Some(remote_amount(amount)?),
        None => None,
    };
    Some(ReceiverRecord {
        id: payment.id,
        wallet_address_url: payment.wallet_address,
        completed: payment.completed,
        incoming_amount,
        received_amount: remote_amount(&payment.received_amount)?,
        expires_at: payment.expires_at,
        metadata: payment.metadata,
        created_at: payment.created_at,
    })
}

impl OpenPaymentsClient {
    /// GETs JSON from an Open Payments server; any failure (unreachable, not 2xx, too large, not
    /// JSON, too slow) is `failure`.
    async fn get_json(
        &self,
        url: &str,
        failure: RemoteIncomingPaymentError,
    ) -> Result<Value, ReceiverError> {
        let request = Request::get(url.trim())
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|_| ReceiverError::Remote(failure))?;
        self.exchange(request, failure).await
    }

    async fn post_json(&self, url: &str, body: &Value) -> Result<Value, ReceiverError> {
        let failure = RemoteIncomingPaymentError::InvalidRequest;
        let request = Request::post(url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| ReceiverError::Remote(failure))?;
        self.exchange(request, failure).await
    }

    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        failure: RemoteIncomingPaymentError,
    ) -> Result<Value, ReceiverError> {
        let uri = request.uri().to_string();
        // No TLS stack is in the tree: peerlab speaks plain HTTP only.
        if request.uri().scheme_str() != Some("http") {
            return Err(ReceiverError::Remote(failure));
        }
        let exchange = async {
            let response = self.client.request(request).await.ok()?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_REMOTE_ANSWER_BYTES)
                .collect()
                .await
                .ok()?
                .to_bytes();
            status
                .is_success()
                .then(|| serde_json::from_slice::<Value>(&body).ok())
                .flatten()
        };
        match tokio::time::timeout(REMOTE_TIMEOUT, exchange).await {
            Ok(Some(value)) => Ok(value),
            _ => {
                tracing::debug!(%uri, "remote Open Payments request failed");
                Err(ReceiverError::Remote(failure))
            }
        }
    }
}
