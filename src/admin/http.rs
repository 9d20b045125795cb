//! The admin API's HTTP server: `POST /graphql`, GraphiQL on `GET /graphql`, `GET /healthz`.
//! Any other path is a 404.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_graphql::http::GraphiQLSource;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::AdminSchema;
use super::signature::SignatureVerifier;

/// Largest request body: far above any real admin request, far below anything that hurts.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
struct AdminState {
    schema: AdminSchema,
    verifier: Option<Arc<SignatureVerifier>>,
}

/// The admin router for `schema`; with `api_secret`, every `POST /graphql` must be signed.
pub fn router(schema: AdminSchema, api_secret: Option<String>) -> Router {
    let state = AdminState {
        schema,
        verifier: api_secret.map(|secret| Arc::new(SignatureVerifier::new(secret))),
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(|| async { "OK" }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message }] });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn graphql(State(state): State<AdminState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(verifier) = &state.verifier {
        let signature = headers
            .get("signature")
            .and_then(|value| value.to_str().ok());
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        if let Err(error) = verifier.verify(signature, &body, now_ms) {
            tracing::debug!(%error, "admin request refused");
            return json_error(StatusCode::UNAUTHORIZED, &format!("Unauthorized: {error}"));
        }
    }
    let request: async_graphql::BatchRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("request body is not a GraphQL request: {error}"),
            );
        }
    };
    let response = state.schema.execute_batch(request).await;
    match serde_json::to_string(&response) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not encode the response",
        ),
    }
}
