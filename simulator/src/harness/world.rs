//! The state of one scenario: two fresh instances, the ids the scenario created, and the last
//! answer the admin API gave.
//!
//! The features run twice, once per way of reading refusals ([`Dialect`]): the world gives each
//! mutation the selection of that dialect's clients, so the instances answer refusals as payloads
//! or as GraphQL errors, and the steps read them that way.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::client::{AdminClient, RawResponse};
use crate::network::InstanceHandle;
use crate::topology::InstanceSpec;
use crate::{Network, TestReceiver};
use peerlab::admin::signature;
use peerlab::ilp::{Address, Reply};
use serde_json::{Value, json};

use super::targets::{Target, Targets};

#[derive(Debug, Default, cucumber::World)]
pub struct PeeringWorld {
    /// The embedded instances, when the scenario runs on the simulator.
    network: Option<Network>,
    /// The instances the scenario works with, embedded or real, as the steps reach them.
    bound: Vec<Instance>,
    /// On real targets: what makes the names this scenario gives unique (`<run>-<n>`).
    tag: Option<String>,
    /// On real targets: the ILP address a scenario wrote for an instance -> the target's own.
    addresses: HashMap<String, String>,
    /// On real targets: what the scenario created, cleaned up (or listed) when it ends.
    created: Vec<Created>,
    /// On real targets: a UUID the scenario wrote -> the fresh one it stands for.
    ids: HashMap<String, String>,
    /// (instance, asset code) -> the asset's scale, as the instance answered.
    asset_scales: HashMap<(String, String), u8>,
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
    /// The dialect they were sent in.
    pub concurrent_dialect: Option<Dialect>,
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

/// The deployment the run targets, when it is not the simulator, and this run's id.
#[derive(Debug)]
struct OnTargets {
    targets: Targets,
    run_id: String,
}

static ON_TARGETS: RwLock<Option<Arc<OnTargets>>> = RwLock::new(None);
/// Numbers the scenarios of a run on targets, so that each one's names are its own.
static SCENARIOS: AtomicU64 = AtomicU64::new(0);
/// What scenarios on targets created and could not delete, for the end of the run.
static LEFT_BEHIND: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Makes the scenarios of the next run bind to `targets` (or, with `None`, start embedded
/// instances); a fresh run id makes this run's names differ from every other run's.
pub fn set_targets(targets: Option<Targets>) {
    let on_targets = targets.map(|targets| {
        let run_id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
        Arc::new(OnTargets { targets, run_id })
    });
    SCENARIOS.store(0, Ordering::SeqCst);
    *ON_TARGETS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = on_targets;
}

fn on_targets() -> Option<Arc<OnTargets>> {
    ON_TARGETS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// Whether this run's scenarios bind to real targets instead of starting embedded instances.
pub fn running_on_targets() -> bool {
    on_targets().is_some()
}

/// The id names of this run on targets carry, if the run is on targets.
pub fn run_id() -> Option<String> {
    on_targets().map(|on| on.run_id.clone())
}

/// What the scenarios of the run left on the targets, one line each, emptied.
pub fn take_left_behind() -> Vec<String> {
    std::mem::take(&mut *LEFT_BEHIND.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The message of a step that needs what only the simulator can do, run on a real target.
pub fn embedded_only(what: &str) -> String {
    format!(
        "this step needs the simulator ({what}), which a real target cannot do: tag the \
         scenario @embedded-only so that runs with --target skip it"
    )
}

/// An instance as the steps reach it: its public faces, the same for an embedded instance and
/// for a real deployment's.
#[derive(Debug, Clone)]
pub struct Instance {
    name: String,
    ilp_address: Address,
    /// Signed with the instance's secret and sending its tenant id, if it has them.
    admin: AdminClient,
    graphql_url: String,
    connector_url: String,
    /// Without a trailing `/`.
    open_payments_url: String,
    auto_peering_url: Option<String>,
    secret: Option<String>,
    signature_version: u32,
    /// A target's dialect; `None` for an embedded instance, which speaks the run's.
    dialect: Option<Dialect>,
}

impl Instance {
    fn embedded(handle: &InstanceHandle, secret: Option<&str>) -> Self {
        Self {
            name: handle.name().to_owned(),
            ilp_address: handle.ilp_address().clone(),
            admin: handle.admin().clone(),
            graphql_url: handle.graphql_url(),
            connector_url: handle.connector_url(),
            open_payments_url: handle
                .node()
                .open_payments_url()
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            auto_peering_url: handle.auto_peering_url(),
            secret: secret.map(str::to_owned),
            signature_version: signature::DEFAULT_VERSION,
            dialect: None,
        }
    }

    fn target(target: &Target) -> Self {
        let admin = AdminClient::with_tls(&target.admin_graphql_url, target.tls.clone())
            // The file's URLs were checked when it was read.
            .unwrap_or_else(|error| panic!("{}: {error}", target.name))
            .signed_with(target.secret.clone())
            .signature_version(target.signature_version)
            .with_tenant_id(target.tenant_id.clone());
        Self {
            name: target.name.clone(),
            ilp_address: target.ilp_address.clone(),
            admin,
            graphql_url: target.admin_graphql_url.clone(),
            connector_url: target.connector_url.clone(),
            open_payments_url: target.open_payments_url.trim_end_matches('/').to_owned(),
            auto_peering_url: target.auto_peering_url.clone(),
            secret: target.secret.clone(),
            signature_version: target.signature_version,
            dialect: Some(target.dialect),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ilp_address(&self) -> &Address {
        &self.ilp_address
    }

    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    pub fn graphql_url(&self) -> String {
        self.graphql_url.clone()
    }

    pub fn connector_url(&self) -> String {
        self.connector_url.clone()
    }

    pub fn open_payments_url(&self) -> &str {
        &self.open_payments_url
    }

    pub fn auto_peering_url(&self) -> Option<String> {
        self.auto_peering_url.clone()
    }

    /// The `signature` header for `body`, if the instance requires signatures.
    fn sign(&self, body: &Value) -> Option<String> {
        self.secret.as_ref().map(|secret| {
            signature::sign_with_version(
                secret,
                self.signature_version,
                signature::unique_timestamp_ms(),
                body,
            )
        })
    }
}

/// Something a scenario created on a real target: cleaned up when it ends, where Rafiki allows.
#[derive(Debug, Clone)]
struct Created {
    instance: String,
    kind: CreatedKind,
    id: String,
    /// How a person finds it: an asset's code, a wallet address's URL.
    label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CreatedKind {
    Asset,
    Peer,
    WalletAddress,
    /// Rafiki has no way to delete these: incoming and outgoing payments, quotes.
    Kept(&'static str),
}

/// What a mutation's payload says it created: (kind, field holding it, the field naming it).
const CREATIONS: &[(&str, CreatedKind, &str, &str)] = &[
    ("createAsset", CreatedKind::Asset, "asset", "code"),
    ("createPeer", CreatedKind::Peer, "peer", "name"),
    ("createOrUpdatePeerByUrl", CreatedKind::Peer, "peer", "name"),
    (
        "createWalletAddress",
        CreatedKind::WalletAddress,
        "walletAddress",
        "address",
    ),
    (
        "createReceiver",
        CreatedKind::Kept("incoming payment"),
        "receiver",
        "id",
    ),
    (
        "createIncomingPayment",
        CreatedKind::Kept("incoming payment"),
        "payment",
        "id",
    ),
    ("createQuote", CreatedKind::Kept("quote"), "quote", "id"),
    (
        "createOutgoingPayment",
        CreatedKind::Kept("outgoing payment"),
        "payment",
        "id",
    ),
    (
        "createOutgoingPaymentFromIncomingPayment",
        CreatedKind::Kept("outgoing payment"),
        "payment",
        "id",
    ),
];

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

/// `query` with the mutation payload's selection of `dialect`'s clients: in the seed dialect
/// `code`, `success` and `message` are added to the payload's fields (selecting a field twice is
/// allowed), in today's the seed-only fields are taken out of them. Queries are left as they are.
/// Braces inside arguments (input objects) are not selections and are skipped.
pub fn for_dialect(query: &str, dialect: Dialect) -> String {
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
                if depth == 2 && dialect == Dialect::Seed {
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
                if !(dialect == Dialect::V2 && SEED_FIELDS.contains(&name.as_str()) && !aliased) {
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
        self.require_embedded("instances configured by the scenario");
        for spec in specs {
            self.auto_peering_ports
                .insert(spec.name.clone(), spec.auto_peering_server_port);
        }
        self.set_network(Network::start(specs).await.expect("instances start"));
    }

    /// The scenario's two instances: fresh embedded ones, or on a run with targets the targets
    /// of these names (whatever their addresses: the scenario's are translated to theirs).
    pub async fn start(&mut self, instances: [(&str, &str); 2], secret: Option<&str>) {
        if secret.is_none() && on_targets().is_some() {
            self.bind_targets(&instances);
            return;
        }
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
        self.require_embedded("fresh instances with the admin authentication it names");
        let specs: Vec<InstanceSpec> = instances
            .iter()
            .map(|(name, address)| InstanceSpec {
                api_secret: secret.map(str::to_owned),
                operator_tenant_id: tenant.map(str::to_owned),
                ..InstanceSpec::new(*name, *address)
            })
            .collect();
        self.secret = secret.map(str::to_owned);
        self.set_network(Network::start(&specs).await.expect("instances start"));
    }

    /// Binds the scenario's instances to the targets of the same names.
    fn bind_targets(&mut self, instances: &[(&str, &str)]) {
        let on = on_targets().expect("a run on targets");
        let n = SCENARIOS.fetch_add(1, Ordering::SeqCst) + 1;
        self.tag = Some(format!("{}-{n}", on.run_id));
        for (name, address) in instances {
            let target = on.targets.get(name).unwrap_or_else(|| {
                panic!(
                    "the scenario names the instance {name:?}, which {} does not (it names {:?})",
                    on.targets.file.display(),
                    on.targets.names()
                )
            });
            self.addresses.insert(
                (*address).to_owned(),
                target.ilp_address.as_str().to_owned(),
            );
            self.bound.push(Instance::target(target));
        }
    }

    fn set_network(&mut self, network: Network) {
        let secret = self.secret.clone();
        self.bound = network
            .instances()
            .iter()
            .map(|handle| Instance::embedded(handle, secret.as_deref()))
            .collect();
        self.network = Some(network);
    }

    /// Fails the step, saying why, when the run is on real targets.
    pub fn require_embedded(&self, what: &str) {
        assert!(on_targets().is_none(), "{}", embedded_only(what));
    }

    /// Whether the scenario runs on a real deployment's instances.
    pub fn on_targets(&self) -> bool {
        self.tag.is_some()
    }

    /// Starts the network a topology describes; its wallet addresses are known to the steps by
    /// instance and address, as if the scenario had created them.
    pub async fn start_topology(&mut self, topology: &crate::Topology) {
        self.require_embedded("a network started from a topology");
        let network = Network::from_topology(topology)
            .await
            .expect("topology starts");
        self.set_network(network);
        for wallet in &topology.wallet_addresses {
            let url = format!(
                "{}/{}",
                self.instance(&wallet.instance).open_payments_url(),
                wallet.address
            );
            let id = self
                .embedded(&wallet.instance)
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
        self.require_embedded("fresh instances peered in a line");
        let network = Network::line(names, ("USD", 2), liquidity)
            .await
            .expect("line starts");
        self.set_network(network);
    }

    /// The admin API secret the instances were started with, if any.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    /// The names of the scenario's instances, in the order they were started or bound.
    pub fn instance_names(&self) -> Vec<String> {
        self.bound.iter().map(|i| i.name().to_owned()).collect()
    }

    /// The names of the scenario's instances other than `name`.
    pub fn others(&self, name: &str) -> Vec<String> {
        self.instance_names()
            .into_iter()
            .filter(|other| other != name)
            .collect()
    }

    /// The embedded network, for the steps only the simulator can do.
    pub fn network(&self) -> &Network {
        self.network
            .as_ref()
            .unwrap_or_else(|| panic!("{}", embedded_only("the embedded network")))
    }

    /// Ends the scenario: embedded instances are shut down; on real targets what it created is
    /// deleted where Rafiki allows, and the rest is listed for the end of the run.
    pub async fn shut_down(&mut self) {
        if self.on_targets() {
            let left = self.clean_up().await;
            LEFT_BEHIND
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(left);
        }
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

    /// The instance named `name`, as the steps reach it.
    pub fn instance(&self, name: &str) -> &Instance {
        self.bound
            .iter()
            .find(|instance| instance.name == name)
            .unwrap_or_else(|| panic!("no instance named {name:?}"))
    }

    /// The embedded instance named `name`, for the steps only the simulator can do.
    pub fn embedded(&self, name: &str) -> &InstanceHandle {
        self.network()
            .instance(name)
            .unwrap_or_else(|| panic!("no instance named {name:?}"))
    }

    /// The dialect `instance`'s clients speak: a target's own, or the run's.
    pub fn dialect_of(&self, instance: &str) -> Dialect {
        self.instance(instance).dialect.unwrap_or_else(dialect)
    }

    /// The dialect the last request was sent in.
    pub fn last_dialect(&self) -> Dialect {
        match &self.last_request {
            Some((instance, _, _)) => self.dialect_of(instance),
            None => dialect(),
        }
    }

    /// The asset code the scenario's `code` stands for: itself on embedded instances, made
    /// unique to the scenario on real targets (`USD-3f9a1c-4`), where the deployment's own
    /// assets and other runs' must not be met.
    pub fn asset_code(&self, code: &str) -> String {
        self.unique(code)
    }

    /// The token the scenario's `token` stands for (unique on real targets, as asset codes).
    pub fn token(&self, token: &str) -> String {
        self.unique(token)
    }

    /// The wallet address path the scenario's `path` stands for (unique on real targets).
    pub fn wallet_path(&self, path: &str) -> String {
        self.unique(path)
    }

    /// The idempotency key the scenario's `key` stands for (unique on real targets, where
    /// Rafiki would answer a key another run used with that run's answer).
    pub fn idempotency_key(&self, key: &str) -> String {
        self.unique(key)
    }

    /// The id the scenario wrote: on real targets a UUID stands for another, fresh to this
    /// scenario (the same one each time the scenario writes it), since a transfer id is never
    /// used twice; anything else (an invalid id a scenario sends on purpose) is itself.
    pub fn scenario_id(&mut self, id: &str) -> String {
        if self.tag.is_none() || uuid::Uuid::parse_str(id).is_err() {
            return id.to_owned();
        }
        self.ids.entry(id.to_owned()).or_insert_with(new_id).clone()
    }

    fn unique(&self, name: &str) -> String {
        match &self.tag {
            Some(tag) => format!("{name}-{tag}"),
            None => name.to_owned(),
        }
    }

    /// The ILP address a scenario wrote: a target's own when it is the one the scenario gave the
    /// target, itself otherwise.
    pub fn address(&self, address: &str) -> String {
        self.addresses
            .get(address)
            .cloned()
            .unwrap_or_else(|| address.to_owned())
    }

    /// The URL of the wallet address `path` (as the scenario names it) at `instance`.
    pub fn wallet_url(&self, instance: &str, path: &str) -> String {
        format!(
            "{}/{}",
            self.instance(instance).open_payments_url(),
            self.wallet_path(path)
        )
    }

    /// The scale of `instance`'s asset `code`, as the instance answered when the scenario
    /// created it, or asked of it.
    pub async fn asset_scale(&mut self, instance: &str, code: &str) -> u8 {
        let key = (instance.to_owned(), code.to_owned());
        if let Some(scale) = self.asset_scales.get(&key) {
            return *scale;
        }
        let id = self.asset_id(instance, code);
        let response = self
            .instance(instance)
            .admin()
            .request(&operation("rafiki/GetAsset"), json!({ "id": id }))
            .await
            .expect("admin API reachable");
        let scale = response["data"]["asset"]["scale"]
            .as_u64()
            .and_then(|scale| u8::try_from(scale).ok())
            .unwrap_or_else(|| panic!("the scale of {instance}'s {code} in {response}"));
        self.asset_scales.insert(key, scale);
        scale
    }

    /// The scale of the asset `code` as some instance of the scenario answered it, if one did.
    pub fn known_scale(&self, code: &str) -> Option<u8> {
        self.asset_scales
            .iter()
            .find(|((_, known), _)| known == code)
            .map(|(_, scale)| *scale)
    }

    /// The id of an asset the scenario (or the network it started) created on `instance`.
    pub fn asset_id(&self, instance: &str, code: &str) -> String {
        self.assets
            .get(&(instance.to_owned(), code.to_owned()))
            .cloned()
            .or_else(|| {
                self.network
                    .as_ref()
                    .and_then(|network| network.instance(instance))
                    .and_then(|handle| handle.asset_id(code).map(str::to_owned))
            })
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

    /// Sends a GraphQL request to `instance`, signed when it requires signatures, and keeps the
    /// answer as "the answer".
    /// A mutation gets the selection of the instance's dialect ([`for_dialect`]).
    pub async fn send(&mut self, instance: &str, query: &str, variables: Value) -> Value {
        let query = for_dialect(query, self.dialect_of(instance));
        let body = json!({ "query": query, "variables": variables });
        let signature = self.instance(instance).sign(&body);
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
        self.keep(instance, response)
    }

    /// Sends a body, signed when the instance requires signatures, with `tenant` as its
    /// `tenant-id` header (none when `None`) instead of the one the instance's client sends.
    pub async fn send_as_tenant(&mut self, instance: &str, body: Value, tenant: Option<&str>) {
        let signature = self.instance(instance).sign(&body);
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
        self.keep(instance, response);
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
    /// signed afresh when the instance requires signatures.
    pub async fn retry(&mut self, instance: &str, operation: &str) {
        let (body, _) = self.last_request_to(instance, operation);
        let signature = self.instance(instance).sign(&body);
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
        let signature = self.instance(instance).sign(&body);
        self.send_fresh(instance, body, signature).await;
    }

    fn keep(&mut self, instance: &str, response: RawResponse) -> Value {
        self.last_status = Some(response.status);
        let json: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        self.note_created(instance, &json);
        self.last_response = Some(json.clone());
        json
    }

    /// Notes what a mutation's answer says it created: the scales of assets, and on real
    /// targets everything to clean up when the scenario ends.
    fn note_created(&mut self, instance: &str, response: &Value) {
        let Some(data) = response["data"].as_object() else {
            return;
        };
        for (field, payload) in data {
            let Some((_, kind, holder, label)) = CREATIONS.iter().find(|(name, ..)| name == field)
            else {
                continue;
            };
            let created = &payload[*holder];
            let Some(id) = created["id"].as_str() else {
                continue;
            };
            if *kind == CreatedKind::Asset
                && let (Some(code), Some(scale)) = (
                    created["code"].as_str(),
                    created["scale"].as_u64().and_then(|s| u8::try_from(s).ok()),
                )
            {
                let code = self.scenario_code(code);
                self.asset_scales.insert((instance.to_owned(), code), scale);
            }
            if self.on_targets() {
                self.created.push(Created {
                    instance: instance.to_owned(),
                    kind: *kind,
                    id: id.to_owned(),
                    label: created[*label].as_str().unwrap_or(id).to_owned(),
                });
            }
        }
    }

    /// A message an instance answered, with the names this scenario made unique said as the
    /// scenario wrote them (`idempotencyKey: deposit-1`, not `deposit-1-3f9a1c-4`).
    pub fn scenario_text(&self, message: &Value) -> Value {
        match (&self.tag, message.as_str()) {
            (Some(tag), Some(text)) => json!(text.replace(&format!("-{tag}"), "")),
            _ => message.clone(),
        }
    }

    /// The scenario's name for a real asset code (the inverse of [`Self::asset_code`]).
    fn scenario_code(&self, code: &str) -> String {
        match &self.tag {
            Some(tag) => code
                .strip_suffix(&format!("-{tag}"))
                .unwrap_or(code)
                .to_owned(),
            None => code.to_owned(),
        }
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
        match self.last_dialect() {
            Dialect::Seed => {
                let answer = self.answer();
                assert_eq!(
                    (
                        &answer["code"],
                        &self.scenario_text(&answer["message"]),
                        &answer["success"]
                    ),
                    (&json!(seed.0), &json!(seed.1), &json!(false)),
                    "the seed era's refusal in {answer}"
                );
            }
            Dialect::V2 => {
                let errors = response["errors"].as_array().expect("errors in the answer");
                assert_eq!(errors.len(), 1, "one error in {response}");
                let error = &errors[0];
                assert_eq!(
                    (
                        &self.scenario_text(&error["message"]),
                        &error["extensions"]["code"]
                    ),
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

    /// How many peers `instance` has: all of them on a fresh embedded instance; on a real
    /// target, those in the assets this scenario created (the deployment has its own).
    pub async fn peer_count(&mut self, instance: &str) -> usize {
        let peers = self
            .list(instance, &operation("rafiki/GetPeers"), "peers")
            .await;
        self.count_scenario_nodes(&peers)
    }

    /// How many wallet addresses `instance` has, counted as [`Self::peer_count`] counts peers.
    pub async fn wallet_address_count(&mut self, instance: &str) -> usize {
        let wallets = self
            .list(
                instance,
                &operation("rafiki/GetWalletAddresses"),
                "walletAddresses",
            )
            .await;
        self.count_scenario_nodes(&wallets)
    }

    fn count_scenario_nodes(&self, nodes: &[Value]) -> usize {
        match &self.tag {
            None => nodes.len(),
            Some(tag) => {
                let suffix = format!("-{tag}");
                nodes
                    .iter()
                    .filter(|node| {
                        node["asset"]["code"]
                            .as_str()
                            .is_some_and(|code| code.ends_with(&suffix))
                    })
                    .count()
            }
        }
    }

    /// Every node of a connection (`peers`, `walletAddresses`), page after page; the last page's
    /// answer is kept as "the answer".
    async fn list(&mut self, instance: &str, query: &str, field: &str) -> Vec<Value> {
        /// A deployment with more is not one a scenario's count can be checked on.
        const MAX_PAGES: usize = 100;
        let mut nodes = Vec::new();
        let mut after = Value::Null;
        for _ in 0..MAX_PAGES {
            let response = self
                .send(instance, query, json!({ "first": 100, "after": after }))
                .await;
            let connection = &response["data"][field];
            let edges = connection["edges"]
                .as_array()
                .unwrap_or_else(|| panic!("{field} in {response}"));
            nodes.extend(edges.iter().map(|edge| edge["node"].clone()));
            if connection["pageInfo"]["hasNextPage"] != json!(true) {
                return nodes;
            }
            after = connection["pageInfo"]["endCursor"].clone();
        }
        panic!("{instance} lists more than {MAX_PAGES} pages of {field}")
    }

    /// Deletes what the scenario created on real targets where Rafiki allows: its peers (those
    /// made for it by other means too, such as auto-peering, found in the assets it created),
    /// then its assets; its wallet addresses are deactivated. Returns what is left, one line each.
    async fn clean_up(&mut self) -> Vec<String> {
        let created = std::mem::take(&mut self.created);
        let mut left = Vec::new();
        // Each mutation in the instance's dialect, so that a refusal is seen in either.
        let admin_of = |name: &str| {
            self.bound
                .iter()
                .find(|instance| instance.name == name)
                .map(|instance| {
                    (
                        instance.admin.clone(),
                        instance.dialect.unwrap_or_else(dialect),
                    )
                })
        };
        let mut peers: Vec<(String, String)> = created
            .iter()
            .filter(|c| c.kind == CreatedKind::Peer)
            .map(|c| (c.instance.clone(), c.id.clone()))
            .collect();
        let assets: Vec<&Created> = created
            .iter()
            .filter(|c| c.kind == CreatedKind::Asset)
            .collect();
        for asset in &assets {
            let Some((admin, _)) = admin_of(&asset.instance) else {
                continue;
            };
            match peers_in_asset(&admin, &asset.id).await {
                Ok(ids) => peers.extend(ids.into_iter().map(|id| (asset.instance.clone(), id))),
                Err(error) => left.push(format!(
                    "{}: the peers in asset {} could not be listed: {error}",
                    asset.instance, asset.label
                )),
            }
        }
        peers.sort();
        peers.dedup();
        for (instance, id) in peers {
            let Some((admin, dialect)) = admin_of(&instance) else {
                continue;
            };
            let deleted = admin
                .mutate(
                    "deletePeer",
                    &for_dialect(&operation("rafiki/DeletePeer"), dialect),
                    json!({ "input": { "id": id } }),
                )
                .await;
            match deleted {
                Ok(_) => {}
                // The scenario deleted it itself.
                Err(crate::client::ClientError::Refused { code, .. })
                    if code == "404" || code == "NOT_FOUND" => {}
                Err(error) => left.push(format!("{instance}: peer {id}: not deleted: {error}")),
            }
        }
        for wallet in created
            .iter()
            .filter(|c| c.kind == CreatedKind::WalletAddress)
        {
            let Some((admin, dialect)) = admin_of(&wallet.instance) else {
                continue;
            };
            let deactivated = admin
                .mutate(
                    "updateWalletAddress",
                    &for_dialect(&operation("rafiki/UpdateWalletAddress"), dialect),
                    json!({ "input": { "id": wallet.id, "status": "INACTIVE" } }),
                )
                .await;
            left.push(match deactivated {
                Ok(_) => format!(
                    "{}: wallet address {} (deactivated: Rafiki cannot delete wallet addresses)",
                    wallet.instance, wallet.label
                ),
                Err(error) => format!(
                    "{}: wallet address {} (could not be deactivated: {error})",
                    wallet.instance, wallet.label
                ),
            });
        }
        for asset in assets {
            let Some((admin, dialect)) = admin_of(&asset.instance) else {
                continue;
            };
            let deleted = admin
                .mutate(
                    "deleteAsset",
                    &for_dialect(&operation("rafiki/DeleteAsset"), dialect),
                    json!({ "input": { "id": asset.id } }),
                )
                .await;
            if let Err(error) = deleted {
                left.push(format!(
                    "{}: asset {} ({}): not deleted: {error}",
                    asset.instance, asset.label, asset.id
                ));
            }
        }
        for kept in &created {
            if let CreatedKind::Kept(what) = kept.kind {
                left.push(format!(
                    "{}: {what} {} (Rafiki cannot delete {what}s)",
                    kept.instance, kept.label
                ));
            }
        }
        left
    }
}

/// The ids of the peers in asset `asset_id`, through the admin API, page after page.
async fn peers_in_asset(
    admin: &AdminClient,
    asset_id: &str,
) -> Result<Vec<String>, crate::client::ClientError> {
    const QUERY: &str = "query($after: String) { peers(first: 100, after: $after) { \
        pageInfo { endCursor hasNextPage } edges { node { id asset { id } } } } }";
    /// 10,000 peers: more is not a deployment a scenario ran on.
    const MAX_PAGES: usize = 100;
    let mut ids = Vec::new();
    let mut after = Value::Null;
    for _ in 0..MAX_PAGES {
        let response = admin.request(QUERY, json!({ "after": after })).await?;
        let connection = &response["data"]["peers"];
        let Some(edges) = connection["edges"].as_array() else {
            return Err(crate::client::ClientError::GraphQl(response.to_string()));
        };
        ids.extend(edges.iter().filter_map(|edge| {
            (edge["node"]["asset"]["id"] == json!(asset_id))
                .then(|| edge["node"]["id"].as_str().map(str::to_owned))
                .flatten()
        }));
        if connection["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    Ok(ids)
}
