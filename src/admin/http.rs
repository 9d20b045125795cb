//! The admin API's HTTP server: `POST /graphql`, GraphiQL on `GET /graphql` (its assets under
//! `/graphql/assets/`), `GET /healthz`. Any other path is a 404.
//!
//! A GraphQL POST passes, in order: the content-type rule (JSON only, and Apollo Server 4's CSRF
//! refusal for the types a browser sends cross-site without a preflight), the `tenant-id` header,
//! the signature, the body limit, no batching, the [`guard`](super::guard)'s limits, and after it ran, the response cap.

use std::io;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use thiserror::Error;

use uuid::Uuid;

use super::signature::{SignaturePolicy, SignatureVerifier};
use super::{AdminSchema, graphiql, guard};

/// Largest request body: far above any real admin request, far below anything that hurts.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest response body; a larger answer is replaced by an error instead of being sent.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Apollo Server 4's refusal of a request a browser may have sent from another origin, verbatim.
pub const CSRF_MESSAGE: &str = "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Please either specify a 'content-type' header (with a type that is not one of application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a non-empty value for one of the following headers: x-apollo-operation-name, apollo-require-preflight\n";
/// Apollo Server 4's refusal of a JSON array body when batching is off (its default), verbatim.
pub const BATCHING_MESSAGE: &str = "Operation batching disabled.";

/// The content types a browser sends cross-site without asking first (a CORS preflight).
const SIMPLE_CONTENT_TYPES: [&str; 3] = [
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
];
/// Headers only a page's own script can set, which therefore force a preflight (Apollo's list).
const PREFLIGHT_HEADERS: [&str; 2] = ["x-apollo-operation-name", "apollo-require-preflight"];

/// Who may use the admin API (reference/rafiki.md §7).
///
/// The two checks are independent, so that a sandbox behaves as a user expects: without a
/// secret no signature is asked for (Rafiki before v2), and whenever an operator tenant is set
/// the `tenant-id` header must name it, signed or not (Rafiki v2 always asks for both).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminAuth {
    /// `API_SECRET` / `ADMIN_API_SECRET`: when set, every `POST /graphql` must be signed.
    pub api_secret: Option<String>,
    /// `ADMIN_API_SIGNATURE_TTL_SECONDS` and `ADMIN_API_SIGNATURE_VERSION`.
    pub signature_policy: SignaturePolicy,
    /// `OPERATOR_TENANT_ID`: when set, every `POST /graphql` must carry `tenant-id: <it>`.
    pub operator_tenant_id: Option<Uuid>,
}

/// Why a request's `tenant-id` header was refused. Every case answers HTTP 401.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TenantError {
    #[error("missing tenant-id header")]
    Missing,
    #[error("tenant-id header does not name this instance's operator tenant")]
    Unknown,
}

/// The `tenant-id` rule: with an operator tenant, the header must name it (as a UUID, so case
/// does not matter, as in Rafiki's UUID column); without one, the header is not looked at.
pub fn check_tenant(
    operator_tenant_id: Option<Uuid>,
    headers: &HeaderMap,
) -> Result<(), TenantError> {
    let Some(operator) = operator_tenant_id else {
        return Ok(());
    };
    let header = headers.get("tenant-id").ok_or(TenantError::Missing)?;
    let named = header
        .to_str()
        .ok()
        .and_then(|text| Uuid::parse_str(text.trim()).ok());
    if named == Some(operator) {
        Ok(())
    } else {
        Err(TenantError::Unknown)
    }
}

/// The admin API's request pipeline: what a GraphQL POST goes through after its content type
/// (tenant, signature, body, batching, the guard's limits, execution, the response cap). The HTTP
/// route and the dashboard both call it, so the dashboard is held to the same rules as any client.
#[derive(Clone)]
pub struct AdminService {
    schema: AdminSchema,
    verifier: Option<Arc<SignatureVerifier>>,
    signature_version: u32,
    operator_tenant_id: Option<Uuid>,
    documents: Arc<guard::DocumentCache>,
}

impl AdminService {
    /// The pipeline for `schema`, guarded by `auth`.
    pub fn new(schema: AdminSchema, auth: AdminAuth) -> Self {
        let policy = auth.signature_policy;
        Self {
            schema,
            verifier: auth
                .api_secret
                .map(|secret| Arc::new(SignatureVerifier::new(secret, policy))),
            signature_version: policy.version,
            operator_tenant_id: auth.operator_tenant_id,
            documents: Arc::default(),
        }
    }

    /// Whether requests must be signed (an API secret is set).
    pub fn requires_signature(&self) -> bool {
        self.verifier.is_some()
    }

    /// The version label signatures carry (`ADMIN_API_SIGNATURE_VERSION`).
    pub fn signature_version(&self) -> u32 {
        self.signature_version
    }

    /// Whether requests must name the operator tenant in `tenant-id`.
    pub fn requires_tenant(&self) -> bool {
        self.operator_tenant_id.is_some()
    }

    /// Runs a GraphQL POST whose content type was accepted: `headers` are looked at for
    /// `tenant-id` and `signature` only.
    pub async fn execute(&self, headers: &HeaderMap, body: Bytes) -> Response {
        graphql_pipeline(self, headers, body).await
    }
}

/// The admin router: the GraphQL API of `service`, GraphiQL, health.
pub fn router(service: AdminService) -> Router {
    Router::new()
        .route("/graphql", get(graphiql::page).post(graphql))
        // Koa's router, in front of Rafiki's Apollo server, matches a trailing slash too.
        .route("/graphql/", get(graphiql::page).post(graphql))
        .route("/graphql/assets/{name}", get(graphiql::asset))
        .route("/healthz", get(|| async { "OK" }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(service)
}

/// Why a POST's content type was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContentTypeRefusal {
    /// No content type, or one a cross-site form may send, and no header that forces a preflight.
    #[error("{CSRF_MESSAGE}")]
    CrossSite,
    #[error("Expected Content-Type of application/json; got {0}. GraphQL requests are JSON.")]
    NotJson(String),
}

/// The content-type rule for a GraphQL POST, as Apollo Server 4 applies it: refused as a possible
/// CSRF when a browser could have sent it cross-site without a preflight, and refused unless it
/// is JSON (parameters such as `charset` allowed) in any case.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ContentTypeRefusal> {
    let content_type = headers.get(header::CONTENT_TYPE).map(|value| {
        value.to_str().map(|text| {
            text.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    });
    let browser_may_send_it = match &content_type {
        None => true,
        Some(Ok(essence)) => SIMPLE_CONTENT_TYPES.contains(&essence.as_str()),
        // Unreadable as text: no browser sends it without a preflight.
        Some(Err(_)) => false,
    };
    let preflighted = PREFLIGHT_HEADERS.iter().any(|name| {
        headers
            .get(*name)
            .is_some_and(|value| !value.as_bytes().is_empty())
    });
    if browser_may_send_it && !preflighted {
        return Err(ContentTypeRefusal::CrossSite);
    }
    match content_type {
        Some(Ok(essence)) if essence == "application/json" => Ok(()),
        Some(Ok(essence)) => Err(ContentTypeRefusal::NotJson(format!("{essence:?}"))),
        Some(Err(_)) => Err(ContentTypeRefusal::NotJson("an unreadable one".into())),
        None => Err(ContentTypeRefusal::NotJson("none".into())),
    }
}

/// A POST whose content type passed [`check_content_type`]. As an extractor it runs before the
/// body is read, so a refused request is neither read nor parsed.
struct JsonPost;

impl<S: Send + Sync> FromRequestParts<S> for JsonPost {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        check_content_type(&parts.headers)
            .map(|()| JsonPost)
            .map_err(|refusal| {
                tracing::debug!(%refusal, "admin request refused");
                graphql_error(StatusCode::BAD_REQUEST, &refusal.to_string(), "BAD_REQUEST")
            })
    }
}

/// A GraphQL error response with an `extensions.code`, as Apollo Server 4 shapes its refusals.
fn graphql_error(status: StatusCode, message: &str, code: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
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

/// A request refused before any field ran (a syntax error, a document the schema does not
/// validate, inputs that do not coerce) is answered as Apollo Server 4 answers it: HTTP 400, each
/// error with `extensions.code` `GRAPHQL_PARSE_FAILED`, `GRAPHQL_VALIDATION_FAILED` or, for
/// arguments and variables whose values do not fit their types, `BAD_USER_INPUT`. Such errors
/// are the ones with no path while no data came back. Returns the HTTP status to answer with.
fn code_refusals_before_execution(
    response: &mut async_graphql::Response,
    parsed: bool,
) -> StatusCode {
    let before_execution = !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|error| error.path.is_empty());
    if !before_execution {
        return StatusCode::OK;
    }
    for error in &mut response.errors {
        let code = if !parsed {
            "GRAPHQL_PARSE_FAILED"
        } else if error.message.starts_with("Invalid value for argument") {
            "BAD_USER_INPUT"
        } else {
            "GRAPHQL_VALIDATION_FAILED"
        };
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", code);
        }
    }
    StatusCode::BAD_REQUEST
}

async fn graphql(
    State(service): State<AdminService>,
    _json: JsonPost,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    service.execute(&headers, body).await
}

async fn graphql_pipeline(state: &AdminService, headers: &HeaderMap, body: Bytes) -> Response {
    // Checked before the signature, so that a request for another tenant does not use up a
    // signature its sender may still mean to send here.
    if let Err(error) = check_tenant(state.operator_tenant_id, headers) {
        tracing::debug!(%error, "admin request refused");
        return json_error(StatusCode::UNAUTHORIZED, &format!("Unauthorized: {error}"));
    }
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
    // A batch multiplies everything below by its length; Apollo Server 4 refuses it by default.
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return graphql_error(StatusCode::BAD_REQUEST, BATCHING_MESSAGE, "BAD_REQUEST");
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return graphql_error(
                StatusCode::BAD_REQUEST,
                &format!("request body is not a GraphQL request: {error}"),
                "BAD_REQUEST",
            );
        }
    };
    let parsed = match state.documents.admit(
        &request.query,
        request.operation_name.as_deref(),
        &request.variables,
    ) {
        Ok(Some(document)) => {
            request.set_parsed_query(document);
            true
        }
        Ok(None) => false,
        Err(refusal) => {
            tracing::debug!(%refusal, "admin request refused");
            // Apollo Server 4 answers a document its validation rules refuse with HTTP 400.
            return graphql_error(
                StatusCode::BAD_REQUEST,
                &refusal.to_string(),
                "GRAPHQL_VALIDATION_FAILED",
            );
        }
    };
    let mut response = state.schema.execute(request).await;
    null_data_after_failed_root_field(&mut response);
    let status = code_refusals_before_execution(&mut response, parsed);
    let mut encoded = CappedBuffer::default();
    match serde_json::to_writer(&mut encoded, &response) {
        Ok(()) => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            encoded.bytes,
        )
            .into_response(),
        Err(_) if encoded.overflowed => graphql_error(
            StatusCode::OK,
            &format!(
                "The response is larger than {MAX_RESPONSE_BYTES} bytes and was not sent; ask for fewer items or fields."
            ),
            "RESPONSE_TOO_LARGE",
        ),
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not encode the response",
        ),
    }
}

/// GraphQL's null propagation at the root, which async-graphql leaves undone: it leaves a field
/// that failed out of `data`, where GraphQL (and Apollo Server) make it null, and a non-null
/// one's null makes `data` null. The admin API's nullable fields give null themselves when they
/// report an error (`dialect::report_nullable`), so a root field missing beside an error failed
/// without a value: a non-null field refused today's way, or input that did not parse. Either
/// way `data` is null, as Apollo Server answers.
fn null_data_after_failed_root_field(response: &mut async_graphql::Response) {
    let async_graphql::Value::Object(fields) = &response.data else {
        return;
    };
    let failed_without_value = response.errors.iter().any(|error| {
        matches!(error.path.as_slice(),
            [async_graphql::PathSegment::Field(key)] if !fields.contains_key(key.as_str()))
    });
    if failed_without_value {
        response.data = async_graphql::Value::Null;
    }
}

/// A response being encoded, which stops growing at [`MAX_RESPONSE_BYTES`].
#[derive(Default)]
struct CappedBuffer {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl io::Write for CappedBuffer {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        if self.bytes.len().saturating_add(chunk.len()) > MAX_RESPONSE_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("response too large"));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(chunk.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
