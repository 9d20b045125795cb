//! Where a topology's instances run when they do not all run in this process: the address and
//! ports each gets, the environment (Rafiki's variable names) that makes a `peerlab node` of it,
//! and the targets file through which `peerlab run --targets` reaches it.
//!
//! One mapping serves every way out of the process: `peerlab up FILE --host NAME` builds its
//! instances' configuration from [`environment`], and `peerlab export` writes the same variables
//! into containers, so an instance is configured the same wherever it runs.

use std::net::IpAddr;

use peerlab::config::{Config, ConfigError};

use crate::harness::targets::{DialectName, TargetEntry, TargetsFile};
use crate::topology::{HostSpec, InstanceSpec, Topology};

/// An instance's four listening ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub admin: u16,
    pub connector: u16,
    pub open_payments: u16,
    pub auto_peering: u16,
}

impl Ports {
    /// Rafiki's defaults, which an instance alone in its container keeps.
    pub const RAFIKI: Ports = Ports {
        admin: 3001,
        connector: 3002,
        open_payments: 3003,
        auto_peering: 3005,
    };

    /// The ports of the `index`th instance (from 0) on a host whose ports start at `base`:
    /// Rafiki's offsets 1, 2, 3, 5 above `base + 10 * index`. `None` past port 65535.
    pub fn on_host(base: u16, index: usize) -> Option<Ports> {
        let first = u32::from(base).checked_add(u32::try_from(index).ok()?.checked_mul(10)?)?;
        let port = |offset: u32| u16::try_from(first.checked_add(offset)?).ok();
        Some(Ports {
            admin: port(1)?,
            connector: port(2)?,
            open_payments: port(3)?,
            auto_peering: port(5)?,
        })
    }
}

/// Where one instance listens and how the others reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The interface it binds to (`BIND_ADDRESS`).
    pub bind: IpAddr,
    /// The host name or IP address others reach it at.
    pub reached_at: String,
    pub ports: Ports,
}

impl Placement {
    /// An instance alone in a container reached by its service name: Rafiki's ports, every
    /// interface.
    pub fn service(name: &str) -> Self {
        Self {
            bind: IpAddr::from([0, 0, 0, 0]),
            reached_at: name.to_owned(),
            ports: Ports::RAFIKI,
        }
    }

    fn url(&self, port: u16, path: &str) -> String {
        // An IPv6 address is bracketed in a URL.
        let host = if self.reached_at.contains(':') {
            format!("[{}]", self.reached_at)
        } else {
            self.reached_at.clone()
        };
        format!("http://{host}:{port}{path}")
    }

    pub fn admin_graphql_url(&self) -> String {
        self.url(self.ports.admin, "/graphql")
    }

    pub fn connector_url(&self) -> String {
        self.url(self.ports.connector, "/")
    }

    pub fn open_payments_url(&self) -> String {
        self.url(self.ports.open_payments, "/")
    }

    pub fn auto_peering_url(&self) -> String {
        self.url(self.ports.auto_peering, "/")
    }
}

/// An instance of the topology and where it runs.
#[derive(Debug, Clone)]
pub struct Placed<'a> {
    pub spec: &'a InstanceSpec,
    pub placement: Placement,
}

/// Every instance of a topology with `[[hosts]]`, in the file's order, placed on its host: bound
/// to the host's address when it is an IP address (else every interface), on the ports its
/// position among the host's instances gives it. Empty without hosts. Validation made sure every
/// instance names a known host with ports to spare.
pub fn on_hosts(topology: &Topology) -> Vec<Placed<'_>> {
    let mut counts = std::collections::HashMap::<&str, usize>::new();
    topology
        .instances
        .iter()
        .filter_map(|spec| {
            let host = topology_host(topology, spec)?;
            let index = counts.entry(host.name.as_str()).or_default();
            let ports = Ports::on_host(host.base_port, *index)?;
            *index += 1;
            Some(Placed {
                spec,
                placement: Placement {
                    bind: host.address.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    reached_at: host.address.clone(),
                    ports,
                },
            })
        })
        .collect()
}

fn topology_host<'a>(topology: &'a Topology, spec: &InstanceSpec) -> Option<&'a HostSpec> {
    let name = spec.host.as_deref()?;
    topology.hosts.iter().find(|host| host.name == name)
}

/// One environment variable of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub value: String,
    /// Whether it is a secret (`API_SECRET`), which an engine keeps in its secret store.
    pub secret: bool,
}

/// The environment that makes `spec`, placed at `placement`, a `peerlab node`: Rafiki's
/// variable names (design.md, "One instance"), in a fixed order.
pub fn environment(spec: &InstanceSpec, placement: &Placement) -> Vec<EnvVar> {
    let plain = |name: &'static str, value: String| EnvVar {
        name,
        value,
        secret: false,
    };
    let mut vars = vec![
        plain("ILP_ADDRESS", spec.ilp_address.clone()),
        plain("INSTANCE_NAME", spec.name.clone()),
        plain("BIND_ADDRESS", placement.bind.to_string()),
        plain("ADMIN_PORT", placement.ports.admin.to_string()),
        plain("CONNECTOR_PORT", placement.ports.connector.to_string()),
        plain(
            "OPEN_PAYMENTS_PORT",
            placement.ports.open_payments.to_string(),
        ),
        plain(
            "AUTO_PEERING_SERVER_PORT",
            // A port the file fixes wins over the host's numbering.
            match spec.auto_peering_server_port {
                0 => placement.ports.auto_peering,
                port => port,
            }
            .to_string(),
        ),
        plain(
            "ILP_CONNECTOR_URL",
            spec.ilp_connector_url
                .clone()
                .unwrap_or_else(|| placement.connector_url()),
        ),
        plain("OPEN_PAYMENTS_URL", placement.open_payments_url()),
    ];
    if spec.enable_auto_peering {
        vars.push(plain("ENABLE_AUTO_PEERING", "true".to_owned()));
    }
    if spec.mock_operator {
        vars.push(plain("MOCK_OPERATOR", "true".to_owned()));
    }
    if let Some(limit) = spec.packet_rate_limit_per_second {
        vars.push(plain("PACKET_RATE_LIMIT_PER_SECOND", limit.to_string()));
    }
    if let Some(url) = &spec.exchange_rates_url {
        vars.push(plain("EXCHANGE_RATES_URL", url.clone()));
    }
    if let Some(rates) = &spec.rates {
        let table = serde_json::json!({ "base": rates.base, "rates": rates.rates });
        vars.push(plain("EXCHANGE_RATES", table.to_string()));
    }
    if spec.admin_api_dialect != Default::default() {
        vars.push(plain("ADMIN_API_DIALECT", dialect_name(spec).to_owned()));
    }
    if let Some(tenant) = &spec.operator_tenant_id {
        vars.push(plain("OPERATOR_TENANT_ID", tenant.clone()));
    }
    if let Some(secret) = &spec.api_secret {
        vars.push(EnvVar {
            name: "API_SECRET",
            value: secret.clone(),
            secret: true,
        });
    }
    vars
}

fn dialect_name(spec: &InstanceSpec) -> &'static str {
    use peerlab::admin::dialect::DialectSetting;
    match spec.admin_api_dialect {
        DialectSetting::Auto => "auto",
        DialectSetting::Seed => "seed",
        DialectSetting::V2 => "v2",
    }
}

/// The configuration `peerlab node` would read from [`environment`].
pub fn config(spec: &InstanceSpec, placement: &Placement) -> Result<Config, ConfigError> {
    let vars = environment(spec, placement);
    Config::from_lookup(|name| {
        vars.iter()
            .find(|var| var.name == name)
            .map(|var| var.value.clone())
    })
}

/// The environment variable a runner reads `instance`'s admin API secret from, when its
/// targets file names one: `PEERLAB_API_SECRET_` and the name in capitals, every other character
/// an underscore.
pub fn secret_variable(instance: &str) -> String {
    let name: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PEERLAB_API_SECRET_{name}")
}

/// Where a runner finds the admin API secrets of the instances a targets file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsIn {
    /// In the topology file the runner is given with the targets (`peerlab run FILE
    /// --targets`): the targets file names no variable.
    Topology,
    /// In the runner's environment, as [`secret_variable`] names them (set from the engine's
    /// secret store).
    Environment,
}

/// The targets file for `placed` instances: each one's URLs, ILP address, and where its
/// secret is; the runner speaks today's admin dialect.
pub fn targets_file(placed: &[Placed<'_>], secrets: SecretsIn) -> String {
    let file = targets(placed, secrets);
    // Strings, integers and arrays of tables: TOML holds them all.
    toml::to_string(&file).unwrap_or_else(|error| unreachable!("a targets file is TOML: {error}"))
}

/// [`targets_file`] before it is written, for a writer that points secrets elsewhere (`peerlab
/// export compose` names the files its engine mounts).
pub fn targets(placed: &[Placed<'_>], secrets: SecretsIn) -> TargetsFile {
    TargetsFile {
        targets: placed
            .iter()
            .map(|Placed { spec, placement }| TargetEntry {
                name: spec.name.clone(),
                admin_graphql_url: placement.admin_graphql_url(),
                connector_url: spec
                    .ilp_connector_url
                    .clone()
                    .unwrap_or_else(|| placement.connector_url()),
                open_payments_url: placement.open_payments_url(),
                ilp_address: spec.ilp_address.clone(),
                auto_peering_url: spec.enable_auto_peering.then(|| {
                    let mut at = placement.clone();
                    if spec.auto_peering_server_port != 0 {
                        at.ports.auto_peering = spec.auto_peering_server_port;
                    }
                    at.auto_peering_url()
                }),
                admin_secret_env: (spec.api_secret.is_some() && secrets == SecretsIn::Environment)
                    .then(|| secret_variable(&spec.name)),
                admin_secret_file: None,
                signature_version: None,
                tenant_id_env: None,
                ca_certificate: None,
                dialect: DialectName::V2,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPREAD: &str = r#"
[[hosts]]
name = "alpha"
address = "10.77.0.1"

[[hosts]]
name = "beta"
address = "peers.example"
base_port = 4000

[[instances]]
name = "one"
ilp_address = "test.one"
host = "alpha"

[[instances]]
name = "two"
ilp_address = "test.two"
host = "beta"
api_secret = "two's secret"
enable_auto_peering = true

[[instances]]
name = "three"
ilp_address = "test.three"
host = "alpha"
mock_operator = true
rates = { base = "USD", rates = { EUR = 0.5 } }
"#;

    #[test]
    fn instances_take_their_hosts_ports_in_order() {
        let topology = Topology::parse(SPREAD).unwrap();
        let placed = on_hosts(&topology);
        let summary: Vec<(&str, String, u16, u16)> = placed
            .iter()
            .map(|p| {
                (
                    p.spec.name.as_str(),
                    p.placement.bind.to_string(),
                    p.placement.ports.admin,
                    p.placement.ports.auto_peering,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("one", "10.77.0.1".to_owned(), 3001, 3005),
                ("two", "0.0.0.0".to_owned(), 4001, 4005),
                ("three", "10.77.0.1".to_owned(), 3011, 3015),
            ]
        );
        assert_eq!(
            placed[1].placement.connector_url(),
            "http://peers.example:4002/"
        );
        assert_eq!(Ports::on_host(65_531, 0), None);
        assert_eq!(
            Ports::on_host(65_500, 2).map(|p| p.auto_peering),
            Some(65_525)
        );
    }

    #[test]
    fn the_environment_is_what_peerlab_node_reads() {
        let topology = Topology::parse(SPREAD).unwrap();
        let placed = on_hosts(&topology);
        let three = &placed[2];
        let config = config(three.spec, &three.placement).unwrap();
        assert_eq!(config.ilp_address.as_str(), "test.three");
        assert_eq!(config.admin_port, 3011);
        assert_eq!(config.bind_address.to_string(), "10.77.0.1");
        assert!(config.mock_operator);
        assert!(matches!(
            config.exchange_rates,
            peerlab::connector::rates::RateSource::Table(_)
        ));
        assert_eq!(
            config.ilp_connector_url.map(String::from).as_deref(),
            Some("http://10.77.0.1:3012/")
        );
        let two = environment(placed[1].spec, &placed[1].placement);
        let secret = two.iter().find(|var| var.name == "API_SECRET").unwrap();
        assert!(secret.secret);
        assert!(two.iter().filter(|var| var.secret).count() == 1);
    }

    #[test]
    fn the_targets_file_reads_back_and_names_secrets_only_when_asked() {
        let topology = Topology::parse(SPREAD).unwrap();
        let placed = on_hosts(&topology);
        let text = targets_file(&placed, SecretsIn::Environment);
        assert!(text.contains("admin_secret_env = \"PEERLAB_API_SECRET_TWO\""));
        let targets = crate::harness::targets::parse(std::path::Path::new("t.toml"), &text, |_| {
            Some("two's secret".into())
        })
        .unwrap();
        assert_eq!(targets.names(), ["one", "two", "three"]);
        let two = &targets.targets[1];
        assert_eq!(
            two.auto_peering_url.as_deref(),
            Some("http://peers.example:4005/")
        );
        assert_eq!(two.secret.as_deref(), Some("two's secret"));
        let text = targets_file(&placed, SecretsIn::Topology);
        assert!(!text.contains("admin_secret_env"));
        assert_eq!(
            text,
            targets_file(&placed, SecretsIn::Topology),
            "same input, same bytes"
        );
    }

    #[test]
    fn hosts_are_checked() {
        for (text, expected) in [
            (
                SPREAD.replace("host = \"beta\"", "host = \"gamma\""),
                "unknown host \"gamma\"",
            ),
            (
                SPREAD.replacen("host = \"alpha\"\n", "", 1),
                "instance \"one\" names no host",
            ),
            (
                SPREAD.replace("name = \"beta\"", "name = \"alpha\""),
                "host \"alpha\" is listed twice",
            ),
            (
                SPREAD.replace("base_port = 4000", "base_port = 65531"),
                "has no ports left",
            ),
        ] {
            let error = Topology::parse(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
        let without_hosts = "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\nhost = \"x\"\n";
        let error = Topology::parse(without_hosts).unwrap_err().to_string();
        assert!(error.contains("lists no [[hosts]]"), "{error}");
    }
}
