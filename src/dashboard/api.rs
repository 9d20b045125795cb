//! The dashboard's way into the instance: its own admin GraphQL API, called in process through
//! the same pipeline as any client's request (tenant, signature, guard), signed with the
//! credentials the operator entered when the instance requires them.

use axum::body::{Bytes, to_bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::admin::http::{AdminService, MAX_RESPONSE_BYTES};
use crate::admin::signature;

/// What the operator entered on the home page (Rafiki's "Tenant ID" and "API Secret").
#[derive(Clone, Default)]
pub struct Credentials {
    pub tenant_id: Option<String>,
    pub secret: Option<String>,
}

/// Why a call did not give data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The credentials were refused (HTTP 401).
    #[error("{0}")]
    Unauthorized(String),
    /// The API refused the operation: its message, and `extensions.code` when there is one.
    #[error("{message}")]
    Refused { message: String, code: String },
    /// Anything else: an answer that is not GraphQL.
    #[error("{0}")]
    Failed(String),
}

/// Runs `query` with `variables` as the operator with `credentials`; returns `data`.
///
/// Mutations select `success`, so a refusal comes back as today's GraphQL error, or, on an
/// instance forcing the seed era's dialect, as a payload whose `success` is false: both are
/// [`ApiError::Refused`].
pub async fn call(
    service: &AdminService,
    credentials: &Credentials,
    query: &str,
    variables: Value,
) -> Result<Value, ApiError> {
    let body = json!({ "query": query, "variables": variables });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(tenant) = &credentials.tenant_id
        && let Ok(value) = HeaderValue::from_str(tenant.trim())
    {
        headers.insert("tenant-id", value);
    }
    if let Some(secret) = &credentials.secret {
        let signed = signature::sign_with_version(
            secret,
            service.signature_version(),
            signature::unique_timestamp_ms(),
            &body,
        );
        if let Ok(value) = HeaderValue::from_str(&signed) {
            headers.insert("signature", value);
        }
    }
    let response = service
        .execute(&headers, Bytes::from(body.to_string()))
        .await;
    let status = response.status();
    let bytes = to_bytes(response.into_body(), MAX_RESPONSE_BYTES + 1024)
        .await
        .map_err(|error| ApiError::Failed(error.to_string()))?;
    let answer: Value = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::Failed(String::from_utf8_lossy(&bytes).into_owned()))?;
    let first_error = || {
        let error = &answer["errors"][0];
        (
            error["message"].as_str().unwrap_or("refused").to_owned(),
            error["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    if status == StatusCode::UNAUTHORIZED {
        return Err(ApiError::Unauthorized(first_error().0));
    }
    if answer["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        let (message, code) = first_error();
        return Err(ApiError::Refused { message, code });
    }
    let data = answer["data"].clone();
    if let Some(fields) = data.as_object() {
        for payload in fields.values() {
            if payload.get("success") == Some(&Value::Bool(false)) {
                let message = payload["message"]
                    .as_str()
                    .unwrap_or("The operation was refused.")
                    .to_owned();
                let code = payload["code"].as_str().unwrap_or_default().to_owned();
                return Err(ApiError::Refused { message, code });
            }
        }
    }
    Ok(data)
}
