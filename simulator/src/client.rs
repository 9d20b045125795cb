//! A client for the admin API of a peerlab instance (or of Rafiki itself): GraphQL over HTTP or
//! HTTPS, signed when a secret is set.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::CONTENT_TYPE;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use peerlab::admin::signature;
use serde_json::{Value, json};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("invalid admin URL {0:?}")]
    InvalidUrl(String),
    #[error("admin API unreachable: {0}")]
    Unreachable(String),
    #[error("admin API answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("admin API answered something that is not JSON: {0}")]
    NotJson(String),
    #[error("GraphQL errors: {0}")]
    GraphQl(String),
    #[error("admin API answered without {expected}: {response}")]
    Unexpected {
        expected: &'static str,
        response: String,
    },
    #[error("{operation} failed: {code} {message}")]
    Refused {
        operation: String,
        code: String,
        message: String,
    },
    #[error("the certificate authority {path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error("admin API did not answer within {} s", .0.as_secs())]
    TimedOut(Duration),
    #[error("the answer is longer than {0} bytes")]
    TooLarge(usize),
}

/// How long one admin request may take, answer included: an instance elsewhere that accepts a
/// connection and never answers must not hang a run. Above anything legitimate: a quote whose
/// probes meet a partitioned link waits for their 30 s expiry.
pub const ADMIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The largest admin answer read: a page of anything the API serves is far smaller.
pub const ADMIN_ANSWER_LIMIT: usize = 16 * 1024 * 1024;

/// What HTTPS servers the clients trust: Mozilla's roots (webpki-roots), and a deployment's own
/// certificate authority when one is given.
pub type TlsConfig = Arc<rustls::ClientConfig>;

/// The TLS configuration trusting Mozilla's roots only, built once.
pub fn default_tls() -> TlsConfig {
    static DEFAULT: OnceLock<TlsConfig> = OnceLock::new();
    DEFAULT
        .get_or_init(|| Arc::new(client_config(root_store())))
        .clone()
}

/// A TLS configuration that also trusts the certificates in the PEM file at `path` (a staging
/// deployment's private certificate authority).
pub fn tls_trusting(path: &std::path::Path) -> Result<TlsConfig, ClientError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let failed = |reason: String| ClientError::Certificate {
        path: path.display().to_string(),
        reason,
    };
    let mut roots = root_store();
    let mut added = 0;
    for certificate in
        CertificateDer::pem_file_iter(path).map_err(|error| failed(error.to_string()))?
    {
        let certificate = certificate.map_err(|error| failed(error.to_string()))?;
        roots
            .add(certificate)
            .map_err(|error| failed(error.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(failed("holds no PEM certificate".into()));
    }
    Ok(Arc::new(client_config(roots)))
}

fn root_store() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn client_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        // ring's provider supports the default versions: this cannot fail.
        .expect("TLS 1.2 and 1.3 with ring")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// An error and its causes, `outer: inner: innermost`: hyper's own message ("client error
/// (Connect)") says nothing of a refused connection or an untrusted certificate.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub body: String,
}

/// Talks to one admin API.
#[derive(Debug, Clone)]
pub struct AdminClient {
    graphql_url: hyper::Uri,
    http: Client<HttpsConnector<peerlab::net::HttpConnector>, Full<Bytes>>,
    secret: Option<String>,
    /// `ADMIN_API_SIGNATURE_VERSION` of the server; 1 unless told otherwise.
    signature_version: u32,
    /// Sent as the `tenant-id` header, which Rafiki v2 requires on every admin request.
    tenant_id: Option<String>,
    /// Whether the helpers' mutations select the seed era's `code success message` (peerlab
    /// answers both eras; today's Rafiki has no such fields).
    seed_payloads: bool,
}

impl AdminClient {
    /// A client for the GraphQL endpoint at `graphql_url` (e.g. `http://127.0.0.1:3001/graphql`,
    /// or an `https://` one trusted by Mozilla's roots).
    pub fn new(graphql_url: &str) -> Result<Self, ClientError> {
        Self::with_tls(graphql_url, default_tls())
    }

    /// A client for `graphql_url` that trusts the HTTPS servers `tls` trusts.
    pub fn with_tls(graphql_url: &str, tls: TlsConfig) -> Result<Self, ClientError> {
        let graphql_url = graphql_url
            .parse()
            .map_err(|_| ClientError::InvalidUrl(graphql_url.to_owned()))?;
        // Through peerlab's own connections: TCP, or the thread's simulated network.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(peerlab::net::HttpConnector::new(Duration::from_secs(10)).under_tls());
        Ok(Self {
            graphql_url,
            // Idle connections are dropped before the 5 s after which peerlab's servers close
            // them, so that a request is never sent down a connection the server is closing.
            http: Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(Duration::from_secs(4))
                .build(connector),
            secret: None,
            signature_version: signature::DEFAULT_VERSION,
            tenant_id: None,
            seed_payloads: true,
        })
    }

    /// Has the helpers (`create_asset`, `create_peer`, ...) ask only for what today's Rafiki
    /// answers, and read its refusals as GraphQL errors: for an admin API that is not peerlab's.
    pub fn todays_payloads(mut self) -> Self {
        self.seed_payloads = false;
        self
    }

    /// What a helper's mutation selects besides its result: the seed era's outcome fields, when
    /// this client asks for them.
    pub fn outcome_fields(&self) -> &'static str {
        if self.seed_payloads {
            "code success message "
        } else {
            ""
        }
    }

    /// Signs every request with Rafiki's `signature` header.
    pub fn signed_with(mut self, secret: Option<String>) -> Self {
        self.secret = secret;
        self
    }

    /// Labels signatures `v<version>` (the server's `ADMIN_API_SIGNATURE_VERSION`).
    pub fn signature_version(mut self, version: u32) -> Self {
        self.signature_version = version;
        self
    }

    /// Sends `tenant-id: <tenant_id>` with every request (Rafiki v2's `OPERATOR_TENANT_ID`).
    pub fn with_tenant_id(mut self, tenant_id: Option<String>) -> Self {
        self.tenant_id = tenant_id;
        self
    }

    /// Posts `body` as is, with the given extra headers and this client's `tenant-id` (unless
    /// `headers` name one); answers whatever came back.
    pub async fn post_raw(
        &self,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, ClientError> {
        let mut headers = headers.to_vec();
        if let Some(tenant_id) = &self.tenant_id
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("tenant-id"))
        {
            headers.push(("tenant-id", tenant_id.as_str()));
        }
        self.post_to(self.graphql_url.clone(), body.into(), &headers)
            .await
    }

    /// Posts a JSON `body` to another `url` (an auto-peering server, say) with this client.
    pub async fn post_url(
        &self,
        url: &str,
        body: impl Into<Bytes>,
    ) -> Result<RawResponse, ClientError> {
        let url = url
            .parse()
            .map_err(|_| ClientError::InvalidUrl(url.to_owned()))?;
        self.post_to(url, body.into(), &[]).await
    }

    /// Sends an ILP Prepare to a connector's ILP-over-HTTP endpoint (http or https) as the peer
    /// `token` belongs to; answers the HTTP status and the body (a Fulfill or Reject when 200).
    pub async fn post_packet(
        &self,
        endpoint: &str,
        token: &str,
        prepare: Vec<u8>,
    ) -> Result<(u16, Bytes), ClientError> {
        let url: hyper::Uri = endpoint
            .parse()
            .map_err(|_| ClientError::InvalidUrl(endpoint.to_owned()))?;
        let request = Request::post(url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(Bytes::from(prepare)))
            .map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
        // An ILP reply is at most a Prepare's size (32 KiB and its envelope).
        self.exchange(request, 64 * 1024).await
    }

    /// Sends `request`; answers the status and at most `limit` bytes of body.
    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<(u16, Bytes), ClientError> {
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| ClientError::Unreachable(with_causes(&e)))?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    ClientError::TooLarge(limit)
                } else {
                    ClientError::Unreachable(with_causes(&*e))
                }
            })?
            .to_bytes();
        Ok((status, body))
    }

    async fn post_to(
        &self,
        url: hyper::Uri,
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, ClientError> {
        let mut request = Request::post(url).header(CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
        let exchange = async {
            let (status, body) = self.exchange(request, ADMIN_ANSWER_LIMIT).await?;
            Ok(RawResponse {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        tokio::time::timeout(ADMIN_REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| ClientError::TimedOut(ADMIN_REQUEST_TIMEOUT))?
    }

    /// Sends a GraphQL request and returns the whole response (`data` and `errors`).
    pub async fn request(&self, query: &str, variables: Value) -> Result<Value, ClientError> {
        let body = json!({ "query": query, "variables": variables });
        let mut headers = Vec::new();
        let signature_header;
        if let Some(secret) = &self.secret {
            signature_header = signature::sign_with_version(
                secret,
                self.signature_version,
                signature::unique_timestamp_ms(),
                &body,
            );
            headers.push(("signature", signature_header.as_str()));
        }
        let response = self.post_raw(body.to_string(), &headers).await?;
        let answer: Option<Value> = serde_json::from_str(&response.body).ok();
        match (response.status, answer) {
            (200, Some(answer)) => Ok(answer),
            // A request refused before it ran (syntax, validation, inputs) is a 400 whose body is
            // a GraphQL answer with errors, as Apollo Server sends it: the caller reads them.
            (400, Some(answer)) if answer.get("errors").is_some() => Ok(answer),
            (200, None) => Err(ClientError::NotJson(response.body)),
            (status, _) => Err(ClientError::Status {
                status,
                body: response.body,
            }),
        }
    }

    /// Runs a mutation and returns its payload, or the refusal it reported: in the seed era's
    /// payload (`code` and `message` selected), or as today's Rafiki reports it, an error at the
    /// mutation's path with `extensions.code` (then `code` is that, e.g. `NOT_FOUND`).
    pub async fn mutate(
        &self,
        field: &str,
        query: &str,
        variables: Value,
    ) -> Result<Value, ClientError> {
        let response = self.request(query, variables).await?;
        if let Some(errors) = response.get("errors") {
            let first = &errors[0];
            if let (true, Some(code)) = (
                first["path"] == json!([field]),
                first["extensions"]["code"].as_str(),
            ) {
                return Err(ClientError::Refused {
                    operation: field.to_owned(),
                    code: code.to_owned(),
                    message: first["message"].as_str().unwrap_or("?").to_owned(),
                });
            }
            return Err(ClientError::GraphQl(errors.to_string()));
        }
        let payload = response["data"][field].clone();
        // A payload without `success` (today's `{ peer { ... } }`) succeeded: it has no error.
        if payload
            .get("success")
            .is_some_and(|success| success != &Value::Bool(true))
        {
            return Err(ClientError::Refused {
                operation: field.to_owned(),
                code: payload["code"].as_str().unwrap_or("?").to_owned(),
                message: payload["message"].as_str().unwrap_or("?").to_owned(),
            });
        }
        Ok(payload)
    }

    /// `createAsset`; returns the asset's id.
    pub async fn create_asset(&self, code: &str, scale: u8) -> Result<String, ClientError> {
        let payload = self
            .mutate(
                "createAsset",
                &format!("mutation CreateAsset($input: CreateAssetInput!) {{ createAsset(input: $input) {{ {}asset {{ id }} }} }}", self.outcome_fields()),
                json!({ "input": { "code": code, "scale": scale } }),
            )
            .await?;
        Ok(payload["asset"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// `depositAssetLiquidity` with a fresh transfer id.
    pub async fn deposit_asset_liquidity(
        &self,
        asset_id: &str,
        amount: u64,
    ) -> Result<(), ClientError> {
        let mut input = json!({ "assetId": asset_id, "amount": amount.to_string(), "id": peerlab::entropy::uuid().to_string() });
        if !self.seed_payloads {
            // Today's Rafiki requires one.
            input["idempotencyKey"] = json!(peerlab::entropy::uuid().to_string());
        }
        self.mutate(
            "depositAssetLiquidity",
            &format!("mutation Deposit($input: DepositAssetLiquidityInput!) {{ depositAssetLiquidity(input: $input) {{ {}success }} }}", self.outcome_fields()),
            json!({ "input": input }),
        )
        .await
        .map(drop)
    }

    /// `createPeer` as the peering guide sends it; returns the peer's id.
    pub async fn create_peer(&self, peer: &PeerSettings) -> Result<String, ClientError> {
        let mut input = json!({
            "staticIlpAddress": peer.static_ilp_address,
            "name": peer.name,
            "http": {
                "incoming": { "authTokens": [peer.incoming_token] },
                "outgoing": { "endpoint": peer.outgoing_endpoint, "authToken": peer.outgoing_token },
            },
            "assetId": peer.asset_id,
            "initialLiquidity": peer.initial_liquidity.to_string(),
        });
        if let Some(max) = peer.max_packet_amount {
            input["maxPacketAmount"] = json!(max.to_string());
        }
        if let Some(threshold) = peer.liquidity_threshold {
            input["liquidityThreshold"] = json!(threshold.to_string());
        }
        if !peer.routes.is_empty() {
            input["routes"] = json!(peer.routes);
        }
        let payload = self
            .mutate(
                "createPeer",
                &format!("mutation CreatePeer($input: CreatePeerInput!) {{ createPeer(input: $input) {{ {}peer {{ id }} }} }}", self.outcome_fields()),
                json!({ "input": input }),
            )
            .await?;
        Ok(payload["peer"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// `createWalletAddress` in `asset_id` at `address` (a full URL under the instance's Open
    /// Payments URL, or the path after it).
    pub async fn create_wallet_address(
        &self,
        asset_id: &str,
        address: &str,
        public_name: Option<&str>,
    ) -> Result<CreatedWalletAddress, ClientError> {
        let payload = self
            .mutate(
                "createWalletAddress",
                &format!("mutation CreateWalletAddress($input: CreateWalletAddressInput!) {{ createWalletAddress(input: $input) {{ {}walletAddress {{ id address }} }} }}", self.outcome_fields()),
                json!({ "input": { "assetId": asset_id, "address": address, "publicName": public_name } }),
            )
            .await?;
        let wallet = &payload["walletAddress"];
        match (wallet["id"].as_str(), wallet["address"].as_str()) {
            (Some(id), Some(url)) => Ok(CreatedWalletAddress {
                id: id.to_owned(),
                url: url.to_owned(),
            }),
            _ => Err(ClientError::Unexpected {
                expected: "the wallet address's id and address",
                response: payload.to_string(),
            }),
        }
    }

    /// What the wallet address `id` holds (its `liquidity`).
    pub async fn wallet_address_balance(&self, id: &str) -> Result<u64, ClientError> {
        let response = self
            .request(
                "query WalletAddressBalance($id: String!) { walletAddress(id: $id) { liquidity } }",
                json!({ "id": id }),
            )
            .await?;
        if let Some(errors) = response.get("errors") {
            return Err(ClientError::GraphQl(errors.to_string()));
        }
        response["data"]["walletAddress"]["liquidity"]
            .as_str()
            .and_then(|liquidity| liquidity.parse().ok())
            .ok_or_else(|| ClientError::Unexpected {
                expected: "the wallet address's liquidity",
                response: response.to_string(),
            })
    }
}

/// A wallet address `createWalletAddress` made: its id and its full URL (lower-cased, as the
/// instance stores it), which is what Open Payments clients are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWalletAddress {
    pub id: String,
    pub url: String,
}

/// What `createPeer` is sent: a peer at an address, in an asset, the token it presents to us and
/// where we send its packets. Built with [`PeerSettings::new`] and the setters for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSettings {
    pub static_ilp_address: String,
    pub name: String,
    pub asset_id: String,
    pub incoming_token: String,
    pub outgoing_endpoint: String,
    pub outgoing_token: String,
    pub initial_liquidity: u64,
    pub max_packet_amount: Option<u64>,
    /// Where a `peer.liquidity_low` event is raised (`liquidityThreshold`).
    pub liquidity_threshold: Option<u64>,
    /// Address prefixes routed to this peer besides its static address.
    pub routes: Vec<String>,
}

impl PeerSettings {
    /// A peer named after its address, with no liquidity and no packet limit, that we send
    /// packets to with the token `"out"`.
    pub fn new(
        static_ilp_address: impl Into<String>,
        asset_id: impl Into<String>,
        incoming_token: impl Into<String>,
        outgoing_endpoint: impl Into<String>,
    ) -> Self {
        let static_ilp_address = static_ilp_address.into();
        Self {
            name: static_ilp_address.clone(),
            static_ilp_address,
            asset_id: asset_id.into(),
            incoming_token: incoming_token.into(),
            outgoing_endpoint: outgoing_endpoint.into(),
            outgoing_token: "out".to_owned(),
            initial_liquidity: 0,
            max_packet_amount: None,
            liquidity_threshold: None,
            routes: Vec::new(),
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The token we present on the packets we send this peer.
    pub fn outgoing_token(mut self, token: impl Into<String>) -> Self {
        self.outgoing_token = token.into();
        self
    }

    /// The liquidity granted at creation (`initialLiquidity`).
    pub fn liquidity(mut self, amount: u64) -> Self {
        self.initial_liquidity = amount;
        self
    }

    pub fn max_packet_amount(self, amount: u64) -> Self {
        self.max_packet_amount_option(Some(amount))
    }

    pub fn max_packet_amount_option(mut self, amount: Option<u64>) -> Self {
        self.max_packet_amount = amount;
        self
    }

    pub fn liquidity_threshold(mut self, threshold: Option<u64>) -> Self {
        self.liquidity_threshold = threshold;
        self
    }

    pub fn routes(mut self, routes: &[String]) -> Self {
        self.routes = routes.to_vec();
        self
    }
}
