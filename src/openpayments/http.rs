//! `GET <wallet address URL>`: the wallet address document (`application/json`) as Rafiki's
//! Open Payments resource server answers it; 404 for an unknown or inactive wallet address.

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use crate::instance::{Instance, WalletAddress};

/// What the Open Payments server needs.
#[derive(Debug, Clone)]
pub struct OpenPayments {
    instance: Arc<Instance>,
}

impl OpenPayments {
    pub fn new(instance: Arc<Instance>) -> Self {
        Self { instance }
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
        .with_state(Arc::new(open_payments))
}

async fn wallet_address(
    State(open_payments): State<Arc<OpenPayments>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "wallet addresses answer GET",
        )
            .into_response();
    }
    // Wallet address URLs are the Open Payments URL's origin plus the path requested.
    let url = format!(
        "{}{}",
        open_payments.base_url().origin().ascii_serialization(),
        uri.path()
    );
    let Some(wallet) = open_payments
        .instance
        .wallet_address_by_url(&url)
        .filter(|wallet| wallet.active)
    else {
        return not_found();
    };
    document(&open_payments, &wallet)
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
