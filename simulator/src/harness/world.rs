//! The state of one scenario: two fresh instances, the ids the scenario created, and the last
//! answer the admin API gave.
//!
//! The features run twice, once per way of reading refusals ([`Dialect`]): the world gives each
//! mutation the selection of that dialect's clients, so the instances answer refusals as payloads
//! or as GraphQL errors, and the steps read them that way.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::client::RawResponse;
use crate::network::InstanceHandle;
use crate::topology::InstanceSpec;
use crate::{Network, TestReceiver};
use peerlab::admin::signature;
use peerlab::ilp::Reply;
use serde_json::{Value, json};

#[derive(Debug, Default, cucumber::World)]
pub struct PeeringWorld {
    network: Option<Network>,
    /// The admin API secret both instances were started with, if any.
    secret: Option<String>,
    /// (instance, asset code) -> asset id.
    pub assets: HashMap<(String, String), String>,
    /// (instance, counterparty, asset code) -> peer id.
    pub peers: HashMap<(String, String, String), String>,
    /// (instance, address as the scenario gave it) -> wallet address id.
    pub wallet_addresses: HashMap<(String, String), String>,
    /// Scenario label -> withdrawal id.
    pub withdrawals: HashMap<String, String>,
    /// The last request: instance, body and signature header, so it can be sent again.
    last_request: Option<(String, Value, Option<String>)>,
    /// How many requests the admin APIs have answered, so a step can show that it sent one.
    requests_answered: usize,
    /// The last HTTP answer and, when it was JSON, its body.
    pub last_status: Option<u16>,
    pub last_response: Option<Value>,
    /// Responses to requests sent at the same time.
    pub concurrent: Vec<Value>,
    /// The instance the packet-sending client is a peer of.
    pub client_of: Option<String>,
    pub receiver: Option<TestReceiver>,
    /// Receivers a scenario replaced, kept until it ends so they are shut down cleanly.
    pub old_receivers: Vec<TestReceiver>,
    /// Instance -> the auto-peering port it was configured with.
    pub auto_peering_ports: HashMap<String, u16>,
    pub last_reply: Option<Reply>,
    /// The last receiver created: the instance that created it and its incoming payment URL.
    pub receiver_url: Option<(String, String)>,
    /// The last quote and outgoing payment: the instance that made them and the id.
    pub quote: Option<(String, Value)>,
    pub outgoing_payment: Option<(String, String)>,
    /// Fault-injecting proxies put on links, by (from, to).
    pub links: HashMap<(String, String), crate::faults::LinkProxy>,
}

/// How this run of the features reads refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// As the seed document's clients do: mutations select `code`, `success` and `message`, and a
    /// refusal is a payload.
    Seed,
    /// As today's Rafiki clients do: mutations select neither `code` nor `message` (nor `error`),
    /// and a refusal is a GraphQL error with today's message and `extensions.code`.
    V2,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Seed => "as the seed document's clients do (payloads)",
            Dialect::V2 => "as today's Rafiki clients do (GraphQL errors)",
        })
    }
}

/// Set before each run of the features, read by every scenario of the run.
static READS_V2: AtomicBool = AtomicBool::new(false);

pub fn set_dialect(dialect: Dialect) {
    READS_V2.store(dialect == Dialect::V2, Ordering::SeqCst);
}

pub fn dialect() -> Dialect {
    if READS_V2.load(Ordering::SeqCst) {
        Dialect::V2
    } else {
        Dialect::Seed
    }
}

/// The payload fields only the seed era has.
const SEED_FIELDS: [&str; 3] = ["code", "message", "error"];

/// The mutations whose schema type is nullable: refused today's way, their field is null and
/// `data` is not (the others make `data` null).
const NULLABLE_MUTATIONS: [&str; 11] = [
    "addPeerLiquidity",
    "depositPeerLiquidity",
    "addAssetLiquidity",
    "depositAssetLiquidity",
    "createPeerLiquidityWithdrawal",
    "createAssetLiquidityWithdrawal",
    "postLiquidityWithdrawal",
    "voidLiquidityWithdrawal",
    "depositOutgoingPaymentLiquidity",
    "createOutgoingPaymentWithdrawal",
    "createIncomingPaymentWithdrawal",
];

pub fn is_nullable_mutation(field: &str) -> bool {
    NULLABLE_MUTATIONS.contains(&field)
}

/// `query` with the mutation payload's selection of this run's dialect's clients: in the seed
/// dialect `code`, `success` and `message` are added to the payload's fields (selecting a field
/// twice is allowed), in today's the seed-only fields are taken out of them. Queries are left as
/// they are. Braces inside arguments (input objects) are not selections and are skipped.
pub fn for_dialect(query: &str) -> String {
    if !query.trim_start().starts_with("mutation") {
        return query.to_owned();
    }
    let mut out = String::with_capacity(query.len() + 24);
    let (mut depth, mut parens) = (0usize, 0usize);
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => parens += 1,
            ')' => parens = parens.saturating_sub(1),
            '{' if parens == 0 => {
                depth += 1;
                out.push(c);
                // Depth 2 is the first root field's payload selection.
                if depth == 2 && dialect() == Dialect::Seed {
                    out.push_str(" code success message ");
                }
                continue;
            }
            '}' if parens == 0 => depth = depth.saturating_sub(1),
            c if depth == 2 && parens == 0 && (c.is_ascii_alphabetic() || c == '_') => {
                let mut name = String::from(c);
                while let Some(&next) = chars.peek() {
                    if !(next.is_ascii_alphanumeric() || next == '_') {
                        break;
                    }
                    name.push(next);
                    chars.next();
                }
                let aliased = out.trim_end().ends_with(':')
                    || chars.clone().find(|c| !c.is_whitespace()) == Some(':');
                if !(dialect() == Dialect::V2 && SEED_FIELDS.contains(&name.as_str()) && !aliased) {
                    out.push_str(&name);
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Embeds the GraphQL operations under `fixtures/graphql/` the steps send, by path without the
/// extension: the `peerlab` binary runs anywhere, not only in a checkout of this repository.
macro_rules! embedded_operations {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../fixtures/graphql/", $path, ".graphql")))),*]
    };
}

const OPERATIONS: &[(&str, &str)] = embedded_operations!(
    "rafiki/CreateOutgoingPayment",
    "rafiki/CreateOutgoingPaymentFromIncomingPayment",
    "rafiki/CreateQuote",
    "rafiki/CreateReceiver",
    "rafiki/CreateWalletAddress",
    "rafiki/DeleteAsset",
    "rafiki/DeletePeer",
    "rafiki/DepositAssetLiquidity",
    "rafiki/DepositOutgoingPaymentLiquidity",
    "rafiki/DepositPeerLiquidity",
    "rafiki/GetAsset",
    "rafiki/GetIncomingPayment",
    "rafiki/GetOutgoingPayment",
    "rafiki/GetPeer",
    "rafiki/GetPeerByAddressAndAsset",
    "rafiki/GetPeers",
    "rafiki/GetWalletAddress",
    "rafiki/GetWalletAddresses",
    "rafiki/PostLiquidityWithdrawal",
    "rafiki/UpdatePeer",
    "rafiki/UpdateWalletAddress",
    "seed/AddPeerLiquidity",
    "seed/CreateAsset",
    "seed/CreatePeer",
    "seed/CreatePeerLiquidityWithdrawal",
    "seed/PostLiquidityWithdrawal",
    "seed/VoidLiquidityWithdrawal",
);

/// The text of a GraphQL operation under `fixtures/graphql/` (e.g. `rafiki/GetPeer`).
pub fn operation(path: &str) -> String {
    OPERATIONS
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, text)| (*text).to_owned())
        .unwrap_or_else(|| panic!("no embedded GraphQL operation {path:?}"))
}

/// Fails the step unless `actual` is the amount `expected`, with a message a feature's author
/// reads without Rust: what was checked, the amount expected and the one found (or the answer it
/// was looked for in, when it has none).
pub fn expect_amount(what: &str, expected: u64, actual: &Value, answer: &Value) {
    match actual.as_str() {
        Some(found) if found == expected.to_string() => {}
        Some(found) => panic!("{what}: expected {expected}, actual {found}"),
        None => panic!("{what}: expected {expected}, actual none in the answer {answer}"),
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl PeeringWorld {
    /// Starts instances from specs.
    pub async fn start_specs(&mut self, specs: &[InstanceSpec]) {
        for spec in specs {
            self.auto_peering_ports
                .insert(spec.name.clone(), spec.auto_peering_server_port);
        }
        self.network = Some(Network::start(specs).await.expect("instances start"));
    }

    pub async fn start(&mut self, instances: [(&str, &str); 2], secret: Option<&str>) {
        self.start_with_auth(instances, secret, None).await;
    }

    /// Starts instances whose admin APIs require `secret`'s signatures and `tenant` in the
    /// `tenant-id` header, when given; the instances' own clients sign and send the tenant.
    pub async fn start_with_auth(
        &mut self,
        instances: [(&str, &str); 2],
        secret: Option<&str>,
        tenant: Option<&str>,
    ) {
        let specs: Vec<InstanceSpec> = instances
            .iter()
            .map(|(name, address)| InstanceSpec {
                api_secret: secret.map(str::to_owned),
                operator_tenant_id: tenant.map(str::to_owned),
                ..InstanceSpec::new(*name, *address)
            })
            .collect();
        self.secret = secret.map(str::to_owned);
        self.network = Some(Network::start(&specs).await.expect("instances start"));
    }

    /// Starts the network a topology describes; its wallet addresses are known to the steps by
    /// instance and address, as if the scenario had created them.
    pub async fn start_topology(&mut self, topology: &crate::Topology) {
        let network = Network::from_topology(topology)
            .await
            .expect("topology starts");
        self.network = Some(network);
        for wallet in &topology.wallet_addresses {
            let instance = self.instance(&wallet.instance);
            let url = format!("{}{}", instance.node().open_payments_url(), wallet.address);
            let id = instance
                .node()
                .instance()
                .wallet_address_by_url(&url)
                .map(|created| created.id.to_string())
                .unwrap_or_else(|| panic!("the topology created no wallet address at {url}"));
            self.wallet_addresses
                .insert((wallet.instance.clone(), wallet.address.clone()), id);
        }
    }

    /// Starts instances `test.<name>` peered in a line in USD (scale 2).
    pub async fn start_line(&mut self, names: &[&str], liquidity: u64) {
        let network = Network::line(names, ("USD", 2), liquidity)
            .await
            .expect("line starts");
        self.network = Some(network);
    }

    /// The admin API secret the instances were started with, if any.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    /// The names of the network's instances other than `name`.
    pub fn others(&self, name: &str) -> Vec<String> {
        self.network()
            .instances()
            .iter()
            .map(|i| i.name().to_owned())
            .filter(|other| other != name)
            .collect()
    }

    pub fn network(&self) -> &Network {
        self.network.as_ref().expect("a network")
    }

    pub async fn shut_down(&mut self) {
        if let Some(network) = self.network.take() {
            network.shutdown().await;
        }
        if let Some(receiver) = self.receiver.take() {
            receiver.shutdown().await;
        }
        for receiver in self.old_receivers.drain(..) {
            receiver.shutdown().await;
        }
        for (_, link) in self.links.drain() {
            link.shutdown().await;
        }
    }

    pub fn instance(&self, name: &str) -> &InstanceHandle {
        self.network
            .as_ref()
            .and_then(|n| n.instance(name))
            .unwrap_or_else(|| panic!("no instance named {name:?}"))
    }

    /// The id of an asset the scenario (or the network it started) created on `instance`.
    pub fn asset_id(&self, instance: &str, code: &str) -> String {
        self.assets
            .get(&(instance.to_owned(), code.to_owned()))
            .cloned()
            .or_else(|| self.instance(instance).asset_id(code).map(str::to_owned))
            .unwrap_or_else(|| panic!("{instance} has no asset {code} yet"))
    }

    pub fn peer_id(&self, instance: &str, counterparty: &str, code: &str) -> String {
        self.peers
            .get(&(
                instance.to_owned(),
                counterparty.to_owned(),
                code.to_owned(),
            ))
            .cloned()
            .unwrap_or_else(|| panic!("{instance} has no peer for {counterparty} in {code}"))
    }

    pub fn wallet_address_id(&self, instance: &str, address: &str) -> String {
        self.wallet_addresses
            .get(&(instance.to_owned(), address.to_owned()))
            .cloned()
            .unwrap_or_else(|| panic!("{instance} has no wallet address {address:?}"))
    }

    /// The only peer `instance` has for `counterparty`, in whatever asset.
    pub fn only_peer_id(&self, instance: &str, counterparty: &str) -> String {
        let mut ids = self
            .peers
            .iter()
            .filter(|((i, c, _), _)| i == instance && c == counterparty)
            .map(|(_, id)| id.clone());
        let id = ids
            .next()
            .unwrap_or_else(|| panic!("{instance} has no peer for {counterparty}"));
        assert!(
            ids.next().is_none(),
            "{instance} has several peers for {counterparty}"
        );
        id
    }

    /// Sends a GraphQL request to `instance`, signed when the instances have a secret, and keeps
    /// the answer as "the answer".
    /// A mutation gets the selection of this run's dialect ([`for_dialect`]).
    pub async fn send(&mut self, instance: &str, query: &str, variables: Value) -> Value {
        let body = json!({ "query": for_dialect(query), "variables": variables });
        let signature = self
            .secret
            .as_ref()
            .map(|secret| signature::sign(secret, now_ms(), &body));
        self.send_body(instance, body, signature).await
    }

    /// Sends a body with the given signature header (or none) and keeps the answer.
    pub async fn send_body(
        &mut self,
        instance: &str,
        body: Value,
        signature: Option<String>,
    ) -> Value {
        let headers: Vec<(&str, &str)> = signature
            .iter()
            .map(|s| ("signature", s.as_str()))
            .collect();
        let response = self
            .instance(instance)
            .admin()
            .post_raw(body.to_string(), &headers)
            .await
            .expect("admin API reachable");
        self.last_request = Some((instance.to_owned(), body, signature));
        self.requests_answered += 1;
        self.keep(response)
    }

    /// Sends a body, signed when the instances have a secret, with `tenant` as its `tenant-id`
    /// header (none when `None`) instead of the one the instance's client sends.
    pub async fn send_as_tenant(&mut self, instance: &str, body: Value, tenant: Option<&str>) {
        let signature = self
            .secret
            .as_ref()
            .map(|secret| signature::sign(secret, now_ms(), &body));
        let headers: Vec<(&str, &str)> = signature
            .iter()
            .map(|s| ("signature", s.as_str()))
            .collect();
        let client = self
            .instance(instance)
            .admin()
            .clone()
            .with_tenant_id(tenant.map(str::to_owned));
        let response = client
            .post_raw(body.to_string(), &headers)
            .await
            .expect("admin API reachable");
        self.last_request = Some((instance.to_owned(), body, signature));
        self.requests_answered += 1;
        self.keep(response);
    }

    /// The body of the last request, which must have gone to `instance` and run `operation` (a
    /// field name such as `depositPeerLiquidity`): a step that repeats "the same" request never
    /// repeats another one by mistake.
    fn last_request_to(&self, instance: &str, operation: &str) -> (Value, Option<String>) {
        let Some((sent_to, body, signature)) = &self.last_request else {
            panic!("no request was sent before, so there is nothing to send again")
        };
        assert_eq!(
            sent_to, instance,
            "the last request went to another instance"
        );
        let query = body["query"].as_str().unwrap_or_default();
        assert!(
            query.contains(&format!("{operation}(")),
            "the last request to {instance} was not {operation}: {query}"
        );
        (body.clone(), signature.clone())
    }

    /// Sends `body` and insists that the admin API answered it; the previous answer is forgotten
    /// first, so that the steps after this one can only judge this request's answer.
    async fn send_fresh(&mut self, instance: &str, body: Value, signature: Option<String>) {
        self.last_status = None;
        self.last_response = None;
        let answered = self.requests_answered;
        self.send_body(instance, body, signature).await;
        assert_eq!(self.requests_answered, answered + 1, "no request was sent");
        assert!(self.last_status.is_some(), "no answer came back");
    }

    /// Sends the last request to `instance` again as a retrying client does: the same body,
    /// signed afresh when the instances have a secret.
    pub async fn retry(&mut self, instance: &str, operation: &str) {
        let (body, _) = self.last_request_to(instance, operation);
        let signature = self
            .secret
            .as_ref()
            .map(|secret| signature::sign(secret, now_ms(), &body));
        self.send_fresh(instance, body, signature).await;
    }

    /// Sends the last request to `instance` again, byte for byte, signature included.
    pub async fn replay(&mut self, instance: &str, operation: &str) {
        let (body, signature) = self.last_request_to(instance, operation);
        self.send_fresh(instance, body, signature).await;
    }

    /// Sends the last request to `instance` again with its `input` changed by `change`: the same
    /// mutation, transfer id and idempotency key, with other arguments.
    pub async fn retry_changed(
        &mut self,
        instance: &str,
        operation: &str,
        change: impl FnOnce(&mut Value),
    ) {
        let (mut body, _) = self.last_request_to(instance, operation);
        change(&mut body["variables"]["input"]);
        let signature = self
            .secret
            .as_ref()
            .map(|secret| signature::sign(secret, now_ms(), &body));
        self.send_fresh(instance, body, signature).await;
    }

    fn keep(&mut self, response: RawResponse) -> Value {
        self.last_status = Some(response.status);
        let json: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        self.last_response = Some(json.clone());
        json
    }

    /// The last response.
    pub fn response(&self) -> &Value {
        self.last_response.as_ref().expect("an answer")
    }

    /// The payload of the last mutation (the only field under `data`), which must have been
    /// answered without GraphQL errors.
    pub fn answer(&self) -> Value {
        let response = self.response();
        assert!(
            response.get("errors").is_none(),
            "the request failed with GraphQL errors: {response}"
        );
        let data = response["data"].as_object().expect("data in the answer");
        assert_eq!(data.len(), 1, "one field in {response}");
        data.values().next().cloned().unwrap_or(Value::Null)
    }

    /// The payload of the last mutation if it has one: a refusal has none when it is reported as
    /// a GraphQL error.
    pub fn payload(&self) -> Option<Value> {
        let response = self.response();
        if response.get("errors").is_some() {
            return None;
        }
        response["data"]
            .as_object()
            .and_then(|data| data.values().next().cloned())
    }

    /// Asserts that the last mutation was refused in this run's dialect, and how: the seed era's
    /// payload `code` and `message`, or today's error `message` and `extensions.code`, at the
    /// mutation's path, with `data` shaped as Apollo Server shapes it.
    pub fn assert_refused(&self, seed: (&str, &str), today: (&str, &str)) {
        let response = self.response();
        match dialect() {
            Dialect::Seed => {
                let answer = self.answer();
                assert_eq!(
                    (&answer["code"], &answer["message"], &answer["success"]),
                    (&json!(seed.0), &json!(seed.1), &json!(false)),
                    "the seed era's refusal in {answer}"
                );
            }
            Dialect::V2 => {
                let errors = response["errors"].as_array().expect("errors in the answer");
                assert_eq!(errors.len(), 1, "one error in {response}");
                let error = &errors[0];
                assert_eq!(
                    (&error["message"], &error["extensions"]["code"]),
                    (&json!(today.1), &json!(today.0)),
                    "today's refusal in {response}"
                );
                let field = error["path"][0].as_str().expect("the mutation's path");
                assert_eq!(error["path"], json!([field]), "{response}");
                let data = if is_nullable_mutation(field) {
                    json!({ field: null })
                } else {
                    Value::Null
                };
                assert_eq!(response["data"], data, "data in {response}");
            }
        }
    }

    /// Sends a mutation and insists it succeeded; returns its payload.
    pub async fn must(&mut self, instance: &str, query: &str, variables: Value) -> Value {
        self.send(instance, query, variables).await;
        let answer = self.answer();
        assert_eq!(answer["success"], json!(true), "expected success: {answer}");
        answer
    }

    pub async fn peer(&mut self, instance: &str, peer_id: &str) -> Value {
        let response = self
            .send(
                instance,
                &operation("rafiki/GetPeer"),
                json!({ "id": peer_id }),
            )
            .await;
        response["data"]["peer"].clone()
    }

    pub async fn peer_count(&mut self, instance: &str) -> usize {
        let response = self
            .send(
                instance,
                &operation("rafiki/GetPeers"),
                json!({ "first": 100 }),
            )
            .await;
        response["data"]["peers"]["edges"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_else(|| panic!("peers in {response}"))
    }
}
