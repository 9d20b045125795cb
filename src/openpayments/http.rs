//! `GET <wallet address URL>`: the wallet address document (`application/json`) as Rafiki's
//! Open Payments resource server answers it, or, when `Accept` asks for
//! `application/spsp4+json`, SPSP: a fresh STREAM receiving address and shared secret whose
//! payments credit the wallet address. 404 for an unknown or inactive wallet address.

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Request, State};

use super::incoming;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use crate::instance::{Instance, WalletAddress};
use crate::stream::{ReceiveTarget, StreamReceiver};

const SPSP_MEDIA_TYPE: &str = "application/spsp4+json";

/// What the Open Payments server needs.
#[derive(Debug, Clone)]
pub struct OpenPayments {
    instance: Arc<Instance>,
    receiver: StreamReceiver,
}

impl OpenPayments {
    pub fn new(instance: Arc<Instance>, receiver: StreamReceiver) -> Self {
        Self { instance, receiver }
    }

    fn base_url(&self) -> &Url {
        &self.instance.settings().open_payments_url
    }

    /// `resourceServer`: where a wallet address's Open Payments resources live.
    fn resource_server(&self) -> String {
        self.base_url().as_str().trim_end_matches('/').to_owned()
    }

    /// `authServer`: peerlab grants nothing (no GNAP), but clients expect the field.
    fn auth_server(&self) -> String {
        format!("{}/auth", self.resource_server())
    }
}

/// Rafiki's Open Payments wallet address document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WalletAddressDocument {
    id: String,
    /// Left out when the wallet address has none, as Rafiki leaves it out (Open Payments
    /// clients validate it as a string when present).
    #[serde(skip_serializing_if = "Option::is_none")]
    public_name: Option<String>,
    asset_code: String,
    asset_scale: u8,
    auth_server: String,
    resource_server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_properties: Option<Map<String, Value>>,
}

pub fn router(open_payments: OpenPayments) -> Router {
    Router::new()
        .fallback(wallet_address)
        .layer(axum::middleware::map_response(allow_any_origin))
        .with_state(Arc::new(open_payments))
}

/// Open Payments and SPSP are read from web pages on any origin (Web Monetization, wallets'
/// front ends), so every answer allows any origin, as Rafiki's Open Payments server does.
async fn allow_any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        axum::http::HeaderValue::from_static("*"),
    );
    response
}

/// A browser's preflight before a cross-origin request.
fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, POST, OPTIONS"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "accept, content-type, authorization, signature, signature-input, web-monetization-id, receipt-nonce, receipt-secret",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
        .into_response()
}

/// Everything under the Open Payments URL: the incoming-payments resource, or a wallet address
/// (whose URLs never contain `/incoming-payments`, so the two cannot clash).
async fn wallet_address(
    State(open_payments): State<Arc<OpenPayments>>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let (method, headers) = (parts.method, parts.headers);
    if method == Method::OPTIONS {
        return preflight();
    }
    let requested = format!(
        "{}{}",
        open_payments.base_url().origin().ascii_serialization(),
        uri.path()
    );
    let instance = &open_payments.instance;
    if incoming::is_collection_url(instance, &requested) {
        if method != Method::POST {
            return method_not_allowed("POST");
        }
        let Ok(bytes) = axum::body::to_bytes(body, incoming::MAX_BODY_BYTES).await else {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large (at most 16384 bytes)",
            );
        };
        return create_incoming_payment(&open_payments, &bytes);
    }
    if let Some(id) = incoming::incoming_payment_id(instance, &requested) {
        if method != Method::GET {
            return method_not_allowed("GET");
        }
        return get_incoming_payment(&open_payments, id);
    }
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "wallet addresses answer GET",
        )
            .into_response();
    }
    // Wallet address URLs are the Open Payments URL's origin plus the path requested.
    let Some(wallet) = open_payments
        .instance
        .wallet_address_by_url(&requested)
        .filter(|wallet| wallet.active)
    else {
        return not_found();
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if accept.contains(SPSP_MEDIA_TYPE) {
        return spsp(&open_payments, &wallet, &headers);
    }
    document(&open_payments, &wallet)
}

/// SPSP (RFC 9) as Rafiki serves it on wallet address URLs. Receipts are not issued, so
/// `receipts_enabled` is false; sending only one of the two receipt headers is still a 400, as
/// in Rafiki.
fn spsp(open_payments: &OpenPayments, wallet: &WalletAddress, headers: &HeaderMap) -> Response {
    let nonce = headers.contains_key("receipt-nonce");
    let secret = headers.contains_key("receipt-secret");
    if nonce != secret {
        return (
            StatusCode::BAD_REQUEST,
            "Receipt-Nonce and Receipt-Secret go together",
        )
            .into_response();
    }
    let own_address = &open_payments.instance.settings().ilp_address;
    let Some(receiving) = open_payments
        .receiver
        .receiving_address(own_address, ReceiveTarget::WalletAddress(wallet.id))
    else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot make a receiving address",
        )
            .into_response();
    };
    let body = serde_json::json!({
        "destination_account": receiving.destination.as_str(),
        "shared_secret": receiving.shared_secret_base64(),
        "receipts_enabled": false,
    });
    (
        [
            (header::CONTENT_TYPE, SPSP_MEDIA_TYPE),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn method_not_allowed(allow: &'static str) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, allow)],
        axum::Json(
            serde_json::json!({ "error": { "code": 405, "description": "method not allowed" } }),
        ),
    )
        .into_response()
}

/// An error as Rafiki's Open Payments server answers one: `{error: {code, description}}`.
fn json_error(status: StatusCode, description: &str) -> Response {
    (
        status,
        axum::Json(
            serde_json::json!({ "error": { "code": status.as_u16(), "description": description } }),
        ),
    )
        .into_response()
}

fn create_incoming_payment(open_payments: &OpenPayments, bytes: &[u8]) -> Response {
    let created = serde_json::from_slice::<incoming::CreateIncomingPaymentBody>(bytes)
        .map_err(|error| incoming::IncomingRequestError::InvalidBody(error.to_string()))
        .and_then(|body| incoming::create(&open_payments.instance, body));
    match created {
        Ok((payment, wallet)) => (
            StatusCode::CREATED,
            axum::Json(incoming::to_open_payments(
                &open_payments.instance,
                &open_payments.receiver,
                &payment,
                &wallet,
            )),
        )
            .into_response(),
        Err(error) => json_error(
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
            &error.to_string(),
        ),
    }
}

fn get_incoming_payment(open_payments: &OpenPayments, id: uuid::Uuid) -> Response {
    let instance = &open_payments.instance;
    let Some(payment) = instance.incoming_payment_by_id(id) else {
        return json_error(StatusCode::NOT_FOUND, "unknown payment");
    };
    let Some(wallet) = instance.wallet_address_by_id(payment.wallet_address_id) else {
        return json_error(StatusCode::NOT_FOUND, "unknown payment");
    };
    axum::Json(incoming::to_open_payments(
        instance,
        &open_payments.receiver,
        &payment,
        &wallet,
    ))
    .into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "error": { "code": 404, "description": "Could not get wallet address" } })),
    )
        .into_response()
}

fn document(open_payments: &OpenPayments, wallet: &WalletAddress) -> Response {
    let Some(asset) = open_payments
        .instance
        .asset_including_deleted(wallet.asset_id)
    else {
        return not_found();
    };
    let visible: Map<String, Value> = wallet
        .additional_properties
        .iter()
        .filter(|p| p.visible_in_open_payments)
        .map(|p| (p.key.clone(), Value::String(p.value.clone())))
        .collect();
    let body = WalletAddressDocument {
        id: wallet.url.clone(),
        public_name: wallet.public_name.clone(),
        asset_code: asset.code,
        asset_scale: asset.scale,
        auth_server: open_payments.auth_server(),
        resource_server: open_payments.resource_server(),
        additional_properties: (!visible.is_empty()).then_some(visible),
    };
    axum::Json(body).into_response()
}
