//! An instance's configuration, read from Rafiki's own environment variable names.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use thiserror::Error;
use url::Url;
use uuid::Uuid;

use crate::admin::dialect::DialectSetting;
use crate::admin::signature::{DEFAULT_TTL_SECONDS, DEFAULT_VERSION, SignaturePolicy};

use crate::connector::rates::{DEFAULT_RATES_LIFETIME, RateSource};
use crate::http_server::ServerSettings;
use crate::ilp::Address;
use crate::ilp::stream::ServerSecret;

/// A variable that is missing or cannot be used. The message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("{name} is required (e.g. {name}={example})")]
    Missing {
        name: &'static str,
        example: &'static str,
    },
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    /// Two names of one setting were given different values.
    #[error("{name} and its alias {alias} are both set, to different values; set only one of them")]
    Conflict {
        name: &'static str,
        alias: &'static str,
    },
}

/// Everything `peerlab node` reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `ILP_ADDRESS`: this instance's static ILP address.
    pub ilp_address: Address,
    /// `INSTANCE_NAME`: the name peers see in auto-peering.
    pub instance_name: String,
    /// `ADMIN_PORT`: the GraphQL admin API. 0 picks a free port.
    pub admin_port: u16,
    /// `CONNECTOR_PORT`: ILP-over-HTTP. 0 picks a free port.
    pub connector_port: u16,
    /// `ILP_CONNECTOR_URL` (or the older `ILP_CONNECTOR_ADDRESS`): how peers reach the connector.
    /// When unset it is `http://<bind address>:<connector port>`, once the port is known.
    pub ilp_connector_url: Option<Url>,
    /// `ENABLE_AUTO_PEERING`.
    pub enable_auto_peering: bool,
    /// `MOCK_OPERATOR`: act as Rafiki's local mock account servicing entity (fund outgoing
    /// payments as they are created, top up liquidity on `*.liquidity_low`).
    pub mock_operator: bool,
    /// `AUTO_PEERING_SERVER_PORT`.
    pub auto_peering_server_port: u16,
    /// `OPEN_PAYMENTS_PORT`: wallet address documents and SPSP. 0 picks a free port.
    pub open_payments_port: u16,
    /// `OPEN_PAYMENTS_URL`: the URL wallet addresses live under. When unset it is
    /// `http://<bind address>:<Open Payments port>`, once the port is known.
    pub open_payments_url: Option<Url>,
    /// `API_SECRET` (or Rafiki v2's `ADMIN_API_SECRET`, or the content of the file
    /// `API_SECRET_FILE` names): when set, admin requests must be signed with it.
    pub api_secret: Option<String>,
    /// `OPERATOR_TENANT_ID`: when set, the `tenant-id` header of every admin request must name
    /// it, signed or not; when unset, that header is ignored.
    pub operator_tenant_id: Option<Uuid>,
    /// `ADMIN_API_SIGNATURE_TTL_SECONDS` and `ADMIN_API_SIGNATURE_VERSION`.
    pub signature_policy: SignaturePolicy,
    /// `ADMIN_API_DIALECT`: how the admin API reports refusals (`auto`: per request, from the
    /// fields it selects; `seed`: always payloads; `v2`: always GraphQL errors).
    pub admin_api_dialect: DialectSetting,
    /// `TWO_PHASE_TIMEOUT_SECONDS`: the least time a packet's pending transfer stays pending;
    /// a packet held longer (up to Rafiki's 30 s) gets a transfer that lasts its hold.
    pub two_phase_timeout: Duration,
    /// `BIND_ADDRESS`: the interface every server listens on.
    pub bind_address: IpAddr,
    /// `PACKET_RATE_LIMIT_PER_SECOND` (peerlab's own): packets per second accepted from each
    /// peer; unset means no limit (T05 when exceeded).
    pub packet_rate_limit_per_second: Option<u32>,
    /// `EXCHANGE_RATES_URL` and `EXCHANGE_RATES_LIFETIME` (milliseconds, Rafiki's default
    /// 15000): where rates for packets crossing assets come from; without a URL only assets of
    /// the same code convert. Code (the simulator) may set a fixed table instead.
    pub exchange_rates: RateSource,
    /// `STREAM_SECRET`: base64 of 32 bytes, from which STREAM receiving addresses and shared
    /// secrets derive; random when unset (receiving addresses then last as long as the process).
    pub stream_secret: ServerSecret,
    /// `WEBHOOK_URL`, `WEBHOOK_TIMEOUT` (ms, default 2000), `WEBHOOK_MAX_RETRY` (attempts,
    /// default 10) and `SIGNATURE_SECRET`: where and how events are POSTed; none without a URL.
    pub webhook: Option<crate::events::WebhookSettings>,
    /// Connection cap and read timeouts of every listener. Not read from the environment: the
    /// defaults suit every use so far, and code (tests, the simulator) can change them.
    pub http: ServerSettings,
}

impl Config {
    /// A configuration with every default, for `ilp_address`; port 0 everywhere so that many
    /// instances can share a machine.
    pub fn for_address(ilp_address: Address) -> Self {
        Self {
            ilp_address,
            instance_name: "Rafiki".to_owned(),
            admin_port: 0,
            connector_port: 0,
            ilp_connector_url: None,
            enable_auto_peering: false,
            mock_operator: false,
            auto_peering_server_port: 0,
            open_payments_port: 0,
            open_payments_url: None,
            api_secret: None,
            operator_tenant_id: None,
            signature_policy: SignaturePolicy::default(),
            admin_api_dialect: DialectSetting::Auto,
            two_phase_timeout: Duration::from_secs(5),
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            packet_rate_limit_per_second: None,
            exchange_rates: RateSource::None,
            stream_secret: ServerSecret::random(),
            webhook: None,
            http: ServerSettings::default(),
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`; empty values count as unset. A file a variable names
    /// (`API_SECRET_FILE`) is read from the file system.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_sources(lookup, |path| std::fs::read_to_string(path))
    }

    /// Reads variables through `lookup` and the files they name through `read_file`, so that
    /// tests need neither the process's environment nor real files.
    pub fn from_sources(
        lookup: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&std::path::Path) -> std::io::Result<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let ilp_address = match get("ILP_ADDRESS") {
            None => {
                return Err(ConfigError::Missing {
                    name: "ILP_ADDRESS",
                    example: "test.cloud-nine-wallet",
                });
            }
            Some(value) => Address::parse(value.trim()).map_err(|e| ConfigError::Invalid {
                name: "ILP_ADDRESS",
                value,
                reason: e.to_string(),
            })?,
        };
        let port = |name: &'static str, default: u16| match get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<u16>()
                .map_err(|_| ConfigError::Invalid {
                    name,
                    value,
                    reason: "expected a port number from 0 to 65535".to_owned(),
                }),
        };
        let connector_url = match (get("ILP_CONNECTOR_URL"), get("ILP_CONNECTOR_ADDRESS")) {
            (Some(value), _) => Some(parse_url("ILP_CONNECTOR_URL", value)?),
            (None, Some(value)) => Some(parse_url("ILP_CONNECTOR_ADDRESS", value)?),
            (None, None) => None,
        };
        let flag = |name: &'static str| match get(name) {
            None => Ok(false),
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ConfigError::Invalid {
                    name,
                    value,
                    reason: "expected true or false".to_owned(),
                }),
            },
        };
        let enable_auto_peering = flag("ENABLE_AUTO_PEERING")?;
        let mock_operator = flag("MOCK_OPERATOR")?;
        let two_phase_timeout = match get("TWO_PHASE_TIMEOUT_SECONDS") {
            None => Duration::from_secs(5),
            Some(value) => match value.trim().parse::<u64>() {
                Ok(seconds) if (1..=86_400).contains(&seconds) => Duration::from_secs(seconds),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "TWO_PHASE_TIMEOUT_SECONDS",
                        value,
                        reason: "expected whole seconds from 1 to 86400".to_owned(),
                    });
                }
            },
        };
        let bind_address = match get("BIND_ADDRESS") {
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "BIND_ADDRESS",
                value,
                reason: "expected an IP address such as 127.0.0.1 or 0.0.0.0".to_owned(),
            })?,
        };
        let packet_rate_limit_per_second = match get("PACKET_RATE_LIMIT_PER_SECOND") {
            None => None,
            Some(value) => match value.trim().parse::<u32>() {
                Ok(rate) if rate > 0 => Some(rate),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "PACKET_RATE_LIMIT_PER_SECOND",
                        value,
                        reason: "expected a whole number of packets per second, at least 1"
                            .to_owned(),
                    });
                }
            },
        };
        // Rafiki v2 renamed `API_SECRET` to `ADMIN_API_SECRET`; either is read, and two different
        // values are refused rather than one silently winning.
        let api_secret = match (get("API_SECRET"), get("ADMIN_API_SECRET")) {
            (Some(old), Some(new)) if old != new => {
                return Err(ConfigError::Conflict {
                    name: "API_SECRET",
                    alias: "ADMIN_API_SECRET",
                });
            }
            (old, new) => old.or(new),
        };
        let api_secret = match (api_secret, get("API_SECRET_FILE")) {
            (secret, None) => secret,
            (Some(_), Some(path)) => {
                return Err(ConfigError::Invalid {
                    name: "API_SECRET_FILE",
                    value: path,
                    reason: "set either API_SECRET_FILE or API_SECRET (ADMIN_API_SECRET), not both"
                        .to_owned(),
                });
            }
            (None, Some(path)) => Some(secret_from_file(&path, &read_file)?),
        };
        let operator_tenant_id =
            match get("OPERATOR_TENANT_ID") {
                None => None,
                // Rafiki's tenant ids are UUIDs (its `tenants.id` column).
                Some(value) => Some(Uuid::parse_str(value.trim()).map_err(|_| {
                    ConfigError::Invalid {
                        name: "OPERATOR_TENANT_ID",
                        value,
                        reason: "expected a UUID such as 438fa74a-fa7d-4317-9ced-dde32ece1787"
                            .to_owned(),
                    }
                })?),
            };
        let signature_ttl = match get("ADMIN_API_SIGNATURE_TTL_SECONDS") {
            None => DEFAULT_TTL_SECONDS,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(seconds) if (1..=86_400).contains(&seconds) => seconds,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "ADMIN_API_SIGNATURE_TTL_SECONDS",
                        value,
                        reason: "expected whole seconds from 1 to 86400".to_owned(),
                    });
                }
            },
        };
        let signature_version = match get("ADMIN_API_SIGNATURE_VERSION") {
            None => DEFAULT_VERSION,
            Some(value) => match value.trim().parse::<u32>() {
                Ok(version) if version >= 1 => version,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "ADMIN_API_SIGNATURE_VERSION",
                        value,
                        reason: "expected a whole number, at least 1".to_owned(),
                    });
                }
            },
        };
        let rates_lifetime = match get("EXCHANGE_RATES_LIFETIME") {
            None => DEFAULT_RATES_LIFETIME,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "EXCHANGE_RATES_LIFETIME",
                        value,
                        reason: "expected milliseconds, at least 1".to_owned(),
                    });
                }
            },
        };
        let exchange_rates = match (get("EXCHANGE_RATES_URL"), get("EXCHANGE_RATES")) {
            (None, None) => RateSource::None,
            (Some(_), Some(value)) => {
                return Err(ConfigError::Invalid {
                    name: "EXCHANGE_RATES",
                    value,
                    reason: "set either EXCHANGE_RATES or EXCHANGE_RATES_URL, not both".to_owned(),
                });
            }
            (None, Some(value)) => fixed_rates(&value).map_err(|reason| ConfigError::Invalid {
                name: "EXCHANGE_RATES",
                value,
                reason,
            })?,
            (Some(value), None) => {
                let url = parse_url("EXCHANGE_RATES_URL", value.clone())?;
                if url.scheme() != "http" {
                    return Err(ConfigError::Invalid {
                        name: "EXCHANGE_RATES_URL",
                        value,
                        reason: "only http URLs are supported".to_owned(),
                    });
                }
                RateSource::Url {
                    url: url.to_string(),
                    lifetime: rates_lifetime,
                }
            }
        };
        let admin_api_dialect = match get("ADMIN_API_DIALECT") {
            None => DialectSetting::Auto,
            Some(value) => value.parse().map_err(|()| ConfigError::Invalid {
                name: "ADMIN_API_DIALECT",
                value,
                reason: format!("expected {}", DialectSetting::ALLOWED),
            })?,
        };
        let stream_secret = match get("STREAM_SECRET") {
            None => ServerSecret::random(),
            Some(value) => {
                parse_stream_secret(value.trim()).ok_or_else(|| ConfigError::Invalid {
                    name: "STREAM_SECRET",
                    value: "(hidden)".to_owned(),
                    reason: "expected 32 bytes in base64, as `openssl rand -base64 32` makes"
                        .to_owned(),
                })?
            }
        };
        let instance_name = get("INSTANCE_NAME").unwrap_or_else(|| "Rafiki".to_owned());
        if let Some(bad) = crate::text::forbidden_character(&instance_name) {
            return Err(ConfigError::Invalid {
                name: "INSTANCE_NAME",
                value: instance_name,
                reason: format!(
                    "contains the control or invisible formatting character U+{:04X}",
                    u32::from(bad)
                ),
            });
        }
        Ok(Self {
            ilp_address,
            instance_name,
            admin_port: port("ADMIN_PORT", 3001)?,
            connector_port: port("CONNECTOR_PORT", 3002)?,
            ilp_connector_url: connector_url,
            enable_auto_peering,
            mock_operator,
            auto_peering_server_port: port("AUTO_PEERING_SERVER_PORT", 3005)?,
            open_payments_port: port("OPEN_PAYMENTS_PORT", 3003)?,
            open_payments_url: get("OPEN_PAYMENTS_URL")
                .map(|value| parse_url("OPEN_PAYMENTS_URL", value))
                .transpose()?,
            api_secret,
            operator_tenant_id,
            signature_policy: SignaturePolicy {
                ttl_seconds: signature_ttl,
                version: signature_version,
            },
            admin_api_dialect,
            two_phase_timeout,
            bind_address,
            packet_rate_limit_per_second,
            exchange_rates,
            stream_secret,
            webhook: webhook_settings(&get)?,
            http: ServerSettings::default(),
        })
    }
}

/// The webhook variables. Without `WEBHOOK_URL` the others are not needed, but a malformed one
/// is still refused: a typo should not wait until the URL is set to show.
fn webhook_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::events::WebhookSettings>, ConfigError> {
    let timeout = match get("WEBHOOK_TIMEOUT") {
        None => None,
        Some(value) => match value.trim().parse::<u64>() {
            Ok(ms) if (1..=600_000).contains(&ms) => Some(Duration::from_millis(ms)),
            _ => {
                return Err(ConfigError::Invalid {
                    name: "WEBHOOK_TIMEOUT",
                    value,
                    reason: "expected milliseconds from 1 to 600000".to_owned(),
                });
            }
        },
    };
    let max_attempts = match get("WEBHOOK_MAX_RETRY") {
        None => None,
        Some(value) => match value.trim().parse::<u32>() {
            Ok(attempts) if (1..=1_000).contains(&attempts) => Some(attempts),
            _ => {
                return Err(ConfigError::Invalid {
                    name: "WEBHOOK_MAX_RETRY",
                    value,
                    reason: "expected a whole number of attempts from 1 to 1000".to_owned(),
                });
            }
        },
    };
    let Some(value) = get("WEBHOOK_URL") else {
        return Ok(None);
    };
    let url = parse_url("WEBHOOK_URL", value.clone())?;
    if url.scheme() != "http" {
        return Err(ConfigError::Invalid {
            name: "WEBHOOK_URL",
            value,
            reason: "only http URLs are supported".to_owned(),
        });
    }
    let mut settings = crate::events::WebhookSettings::from_url(url);
    if let Some(timeout) = timeout {
        settings.timeout = timeout;
    }
    if let Some(max_attempts) = max_attempts {
        settings.max_attempts = max_attempts;
    }
    settings.signature_secret = get("SIGNATURE_SECRET");
    Ok(Some(settings))
}

/// `EXCHANGE_RATES`: a fixed table in the format of Rafiki's rates endpoint,
/// `{"base": "USD", "rates": {"EUR": 0.9}}`, for an instance that has no rates service to ask
/// (a container exported from a topology whose instance lists `rates`).
fn fixed_rates(value: &str) -> Result<RateSource, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Table {
        base: String,
        rates: std::collections::BTreeMap<String, f64>,
    }
    let table: Table = serde_json::from_str(value).map_err(|error| {
        format!("expected {{\"base\": CODE, \"rates\": {{CODE: NUMBER}}}}: {error}")
    })?;
    crate::connector::rates::RateTable::from_numbers(&table.base, table.rates)
        .map(RateSource::Table)
        .map_err(|error| error.to_string())
}

/// 32 bytes in standard or URL-safe base64, padded or not.
fn parse_stream_secret(value: &str) -> Option<ServerSecret> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let bytes = STANDARD
        .decode(value)
        .or_else(|_| URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')))
        .ok()?;
    Some(ServerSecret::new(bytes.try_into().ok()?))
}

/// The secret in the file at `path` (a container engine's secret, mounted as a file): its whole
/// content but one trailing line ending, which editors and `echo` add. The content itself never
/// appears in an error.
fn secret_from_file(
    path: &str,
    read_file: &impl Fn(&std::path::Path) -> std::io::Result<String>,
) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "API_SECRET_FILE",
        value: path.to_owned(),
        reason,
    };
    let content = read_file(std::path::Path::new(path.trim()))
        .map_err(|error| invalid(format!("cannot read the file: {error}")))?;
    secret_file_content(&content)
        .map(str::to_owned)
        .ok_or_else(|| invalid("the file is empty".to_owned()))
}

/// The secret a secret file holds: its content but one trailing line ending (`\n` or `\r\n`,
/// which editors and `echo` add); `None` when nothing else is left. Runners reading a targets
/// file's `admin_secret_file` read it the same way.
pub fn secret_file_content(content: &str) -> Option<&str> {
    let secret = content
        .strip_suffix('\n')
        .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
        .unwrap_or(content);
    (!secret.trim().is_empty()).then_some(secret)
}

fn parse_url(name: &'static str, value: String) -> Result<Url, ConfigError> {
    match Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            reason: "expected an http:// or https:// URL".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_follow_rafiki() {
        let c = config(&[("ILP_ADDRESS", "test.cloud-nine-wallet")]).unwrap();
        assert_eq!(c.ilp_address.as_str(), "test.cloud-nine-wallet");
        assert_eq!(c.instance_name, "Rafiki");
        assert_eq!(
            (
                c.admin_port,
                c.connector_port,
                c.auto_peering_server_port,
                c.open_payments_port
            ),
            (3001, 3002, 3005, 3003)
        );
        assert_eq!(c.ilp_connector_url, None);
        assert!(!c.enable_auto_peering);
        assert!(!c.mock_operator);
        assert_eq!(c.api_secret, None);
        assert_eq!(c.operator_tenant_id, None);
        assert_eq!(
            c.signature_policy,
            SignaturePolicy {
                ttl_seconds: 30,
                version: 1
            }
        );
        assert_eq!(c.two_phase_timeout, Duration::from_secs(5));
        assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(c.admin_api_dialect, DialectSetting::Auto);
    }

    #[test]
    fn every_variable_is_read() {
        let c = config(&[
            ("ILP_ADDRESS", "test.happy-life-bank"),
            ("INSTANCE_NAME", "HAPPY-LIFE"),
            ("ADMIN_PORT", "0"),
            ("CONNECTOR_PORT", "4002"),
            (
                "ILP_CONNECTOR_ADDRESS",
                "http://happy-life-bank-backend:4002",
            ),
            ("ENABLE_AUTO_PEERING", "true"),
            ("MOCK_OPERATOR", "yes"),
            ("AUTO_PEERING_SERVER_PORT", "4005"),
            ("OPEN_PAYMENTS_PORT", "4000"),
            ("API_SECRET", "s3cret"),
            ("TWO_PHASE_TIMEOUT_SECONDS", "9"),
            ("BIND_ADDRESS", "0.0.0.0"),
            ("PACKET_RATE_LIMIT_PER_SECOND", "100"),
            ("OPERATOR_TENANT_ID", "438FA74A-FA7D-4317-9CED-DDE32ECE1787"),
            ("ADMIN_API_SIGNATURE_TTL_SECONDS", "120"),
            ("ADMIN_API_SIGNATURE_VERSION", "2"),
            ("ADMIN_API_DIALECT", "v2"),
        ])
        .unwrap();
        assert_eq!(c.admin_api_dialect, DialectSetting::V2);
        assert_eq!(
            c.operator_tenant_id.map(|id| id.to_string()).as_deref(),
            Some("438fa74a-fa7d-4317-9ced-dde32ece1787")
        );
        assert_eq!(
            c.signature_policy,
            SignaturePolicy {
                ttl_seconds: 120,
                version: 2
            }
        );
        assert_eq!(c.instance_name, "HAPPY-LIFE");
        assert_eq!((c.admin_port, c.connector_port), (0, 4002));
        assert_eq!(
            c.ilp_connector_url.map(String::from).as_deref(),
            Some("http://happy-life-bank-backend:4002/")
        );
        assert!(c.enable_auto_peering);
        assert!(c.mock_operator);
        assert_eq!(
            (c.auto_peering_server_port, c.open_payments_port),
            (4005, 4000)
        );
        assert_eq!(c.api_secret.as_deref(), Some("s3cret"));
        assert_eq!(c.two_phase_timeout, Duration::from_secs(9));
        assert_eq!(c.bind_address.to_string(), "0.0.0.0");
        assert_eq!(c.packet_rate_limit_per_second, Some(100));
    }

    #[test]
    fn exchange_rates_come_from_rafikis_url_with_its_lifetime() {
        let c = config(&[
            ("ILP_ADDRESS", "test.a"),
            ("EXCHANGE_RATES_URL", "http://rates:8080/rates"),
            ("EXCHANGE_RATES_LIFETIME", "60000"),
        ])
        .unwrap();
        assert_eq!(
            c.exchange_rates,
            RateSource::Url {
                url: "http://rates:8080/rates".to_owned(),
                lifetime: Duration::from_secs(60)
            }
        );
        let c = config(&[
            ("ILP_ADDRESS", "test.a"),
            ("EXCHANGE_RATES_URL", "http://r/"),
        ])
        .unwrap();
        assert_eq!(
            c.exchange_rates,
            RateSource::Url {
                url: "http://r/".to_owned(),
                lifetime: DEFAULT_RATES_LIFETIME
            }
        );
        assert_eq!(
            config(&[("ILP_ADDRESS", "test.a")]).unwrap().exchange_rates,
            RateSource::None
        );
        for (name, value) in [
            ("EXCHANGE_RATES_URL", "https://rates/"),
            ("EXCHANGE_RATES_URL", "not a url"),
            ("EXCHANGE_RATES_LIFETIME", "0"),
            ("EXCHANGE_RATES_LIFETIME", "soon"),
        ] {
            let error = config(&[("ILP_ADDRESS", "test.a"), (name, value)]).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn a_fixed_rate_table_comes_from_exchange_rates_in_rafikis_format() {
        let c = config(&[
            ("ILP_ADDRESS", "test.a"),
            (
                "EXCHANGE_RATES",
                r#"{"base": "USD", "rates": {"EUR": 0.5}}"#,
            ),
        ])
        .unwrap();
        let RateSource::Table(table) = c.exchange_rates else {
            panic!("expected a fixed table, got {:?}", c.exchange_rates);
        };
        assert_eq!(
            table,
            crate::connector::rates::RateTable::from_numbers("USD", [("EUR".to_owned(), 0.5)])
                .unwrap()
        );
        for (value, url) in [
            ("{\"base\": \"USD\"}", None),
            ("not json", None),
            (r#"{"base": "USD", "rates": {"EUR": -1}}"#, None),
            (r#"{"base": "USD", "rates": {}}"#, Some("http://rates/")),
        ] {
            let mut vars = vec![("ILP_ADDRESS", "test.a"), ("EXCHANGE_RATES", value)];
            vars.extend(url.map(|url| ("EXCHANGE_RATES_URL", url)));
            let error = config(&vars).unwrap_err();
            assert!(error.to_string().contains("EXCHANGE_RATES"), "{error}");
        }
    }

    #[test]
    fn stream_secret_is_32_bytes_of_base64() {
        let secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
        let c = config(&[("ILP_ADDRESS", "test.a"), ("STREAM_SECRET", secret)]).unwrap();
        let bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from(i + 1).unwrap());
        assert_eq!(c.stream_secret, ServerSecret::new(bytes));
        // URL-safe and unpadded are read too.
        let c = config(&[
            ("ILP_ADDRESS", "test.a"),
            ("STREAM_SECRET", secret.trim_end_matches('=')),
        ])
        .unwrap();
        assert_eq!(c.stream_secret, ServerSecret::new(bytes));
        // Unset: random, so two instances never share one by accident.
        let (a, b) = (
            config(&[("ILP_ADDRESS", "test.a")]).unwrap(),
            config(&[("ILP_ADDRESS", "test.a")]).unwrap(),
        );
        assert_ne!(a.stream_secret, b.stream_secret);
        for bad in [
            "c2hvcnQ=",
            "not base64!",
            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh",
        ] {
            let error = config(&[("ILP_ADDRESS", "test.a"), ("STREAM_SECRET", bad)]).unwrap_err();
            assert!(error.to_string().contains("STREAM_SECRET"), "{error}");
            assert!(
                !error.to_string().contains(bad),
                "the secret is never echoed: {error}"
            );
        }
    }

    #[test]
    fn ilp_connector_url_wins_over_its_old_name() {
        let c = config(&[
            ("ILP_ADDRESS", "test.a"),
            ("ILP_CONNECTOR_URL", "http://new:1"),
            ("ILP_CONNECTOR_ADDRESS", "http://old:2"),
        ])
        .unwrap();
        assert_eq!(c.ilp_connector_url.unwrap().host_str(), Some("new"));
    }

    #[test]
    fn admin_api_secret_is_an_alias_of_api_secret() {
        let secret = |vars: &[(&str, &str)]| {
            let mut all = vec![("ILP_ADDRESS", "test.a")];
            all.extend_from_slice(vars);
            config(&all).map(|c| c.api_secret)
        };
        assert_eq!(
            secret(&[("ADMIN_API_SECRET", "new")]),
            Ok(Some("new".into()))
        );
        assert_eq!(secret(&[("API_SECRET", "old")]), Ok(Some("old".into())));
        assert_eq!(
            secret(&[("API_SECRET", "same"), ("ADMIN_API_SECRET", "same")]),
            Ok(Some("same".into()))
        );
        let conflict = secret(&[("API_SECRET", "xk1"), ("ADMIN_API_SECRET", "qz2")]);
        assert_eq!(
            conflict,
            Err(ConfigError::Conflict {
                name: "API_SECRET",
                alias: "ADMIN_API_SECRET"
            })
        );
        let message = conflict.unwrap_err().to_string();
        assert!(
            message.contains("API_SECRET") && message.contains("ADMIN_API_SECRET"),
            "{message}"
        );
        // The secrets themselves stay out of the message: it goes to logs.
        assert!(
            !message.contains("xk1") && !message.contains("qz2"),
            "{message}"
        );
    }

    #[test]
    fn api_secret_file_holds_the_secret_without_its_line_ending() {
        let read = |vars: &[(&str, &str)], content: Result<&str, std::io::ErrorKind>| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let content = content.map(str::to_owned);
            Config::from_sources(
                |name| vars.get(name).cloned(),
                |path| {
                    assert_eq!(path, std::path::Path::new("/run/secrets/a"));
                    content.clone().map_err(std::io::Error::from)
                },
            )
        };
        let file = [
            ("ILP_ADDRESS", "test.a"),
            ("API_SECRET_FILE", "/run/secrets/a"),
        ];
        for (content, secret) in [
            ("s3cret", "s3cret"),
            ("s3cret\n", "s3cret"),
            ("s3cret\r\n", "s3cret"),
            // Only one line ending goes: the rest is the secret, as written.
            ("s3cret\n\n", "s3cret\n"),
            (" s3cret ", " s3cret "),
        ] {
            assert_eq!(
                read(&file, Ok(content)).map(|c| c.api_secret),
                Ok(Some(secret.to_owned())),
                "{content:?}"
            );
        }
        let missing = read(&file, Err(std::io::ErrorKind::NotFound)).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("API_SECRET_FILE=\"/run/secrets/a\" is invalid: cannot read the file"),
            "{missing}"
        );
        let empty = read(&file, Ok("\n")).unwrap_err().to_string();
        assert!(empty.ends_with("the file is empty"), "{empty}");
        for other in ["API_SECRET", "ADMIN_API_SECRET"] {
            let mut vars = file.to_vec();
            vars.push((other, "xk1"));
            let both = read(&vars, Ok("qz2")).unwrap_err().to_string();
            assert!(
                both.contains("set either API_SECRET_FILE or API_SECRET"),
                "{both}"
            );
            assert!(!both.contains("xk1") && !both.contains("qz2"), "{both}");
        }
        // Without the variable no file is read.
        let plain = Config::from_sources(
            |name| (name == "ILP_ADDRESS").then(|| "test.a".to_owned()),
            |path| panic!("read {path:?} though no variable names it"),
        )
        .unwrap();
        assert_eq!(plain.api_secret, None);
    }

    #[test]
    fn errors_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "ILP_ADDRESS is required"),
            (&[("ILP_ADDRESS", "  ")], "ILP_ADDRESS is required"),
            (
                &[("ILP_ADDRESS", "nope")],
                "ILP_ADDRESS=\"nope\" is invalid",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("ADMIN_PORT", "70000")],
                "ADMIN_PORT=\"70000\"",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("CONNECTOR_PORT", "x")],
                "CONNECTOR_PORT=",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("ILP_CONNECTOR_URL", "ftp://x")],
                "ILP_CONNECTOR_URL=",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("ENABLE_AUTO_PEERING", "maybe")],
                "ENABLE_AUTO_PEERING=",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("MOCK_OPERATOR", "sometimes")],
                "MOCK_OPERATOR=",
            ),
            (
                &[
                    ("ILP_ADDRESS", "test.a"),
                    ("TWO_PHASE_TIMEOUT_SECONDS", "0"),
                ],
                "TWO_PHASE_TIMEOUT_SECONDS=",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("BIND_ADDRESS", "localhost")],
                "BIND_ADDRESS=",
            ),
            (
                &[
                    ("ILP_ADDRESS", "test.a"),
                    ("AUTO_PEERING_SERVER_PORT", "-1"),
                ],
                "AUTO_PEERING_SERVER_PORT=",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("OPEN_PAYMENTS_PORT", "1.5")],
                "OPEN_PAYMENTS_PORT=",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("INSTANCE_NAME", "Bank\u{202e}")],
                "INSTANCE_NAME=",
            ),
            (
                &[
                    ("ILP_ADDRESS", "test.a"),
                    ("OPERATOR_TENANT_ID", "operator"),
                ],
                "OPERATOR_TENANT_ID=\"operator\" is invalid: expected a UUID",
            ),
            (
                &[
                    ("ILP_ADDRESS", "test.a"),
                    ("ADMIN_API_SIGNATURE_TTL_SECONDS", "0"),
                ],
                "ADMIN_API_SIGNATURE_TTL_SECONDS=\"0\"",
            ),
            (
                &[
                    ("ILP_ADDRESS", "test.a"),
                    ("ADMIN_API_SIGNATURE_TTL_SECONDS", "30s"),
                ],
                "ADMIN_API_SIGNATURE_TTL_SECONDS=\"30s\"",
            ),
            (
                &[
                    ("ILP_ADDRESS", "test.a"),
                    ("ADMIN_API_SIGNATURE_VERSION", "0"),
                ],
                "ADMIN_API_SIGNATURE_VERSION=\"0\"",
            ),
            (
                &[
                    ("ILP_ADDRESS", "test.a"),
                    ("ADMIN_API_SIGNATURE_VERSION", "v1"),
                ],
                "ADMIN_API_SIGNATURE_VERSION=\"v1\"",
            ),
            (
                &[("ILP_ADDRESS", "test.a"), ("ADMIN_API_DIALECT", "rafiki")],
                "ADMIN_API_DIALECT=\"rafiki\" is invalid: expected auto, seed or v2",
            ),
        ];
        for (vars, expected) in cases {
            let message = config(vars).unwrap_err().to_string();
            assert!(
                message.starts_with(expected),
                "{message:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn webhook_delivery_follows_rafikis_variables() {
        let unset = config(&[("ILP_ADDRESS", "test.a")]).unwrap();
        assert_eq!(unset.webhook, None);
        let set = config(&[
            ("ILP_ADDRESS", "test.a"),
            ("WEBHOOK_URL", "http://127.0.0.1:9/hooks"),
        ])
        .unwrap()
        .webhook
        .unwrap();
        assert_eq!(set.url.as_str(), "http://127.0.0.1:9/hooks");
        assert_eq!(set.timeout, Duration::from_millis(2_000));
        assert_eq!(set.max_attempts, 10);
        assert_eq!(set.signature_secret, None);
        assert_eq!(set.retry_backoff, Duration::from_secs(10));
        let tuned = config(&[
            ("ILP_ADDRESS", "test.a"),
            ("WEBHOOK_URL", "http://127.0.0.1:9/hooks"),
            ("WEBHOOK_TIMEOUT", "500"),
            ("WEBHOOK_MAX_RETRY", "3"),
            ("SIGNATURE_SECRET", "shh"),
        ])
        .unwrap()
        .webhook
        .unwrap();
        assert_eq!(tuned.timeout, Duration::from_millis(500));
        assert_eq!(tuned.max_attempts, 3);
        assert_eq!(tuned.signature_secret.as_deref(), Some("shh"));
        for (name, value) in [
            ("WEBHOOK_URL", "not a url"),
            ("WEBHOOK_URL", "https://example.com/hooks"),
            ("WEBHOOK_TIMEOUT", "0"),
            ("WEBHOOK_TIMEOUT", "soon"),
            ("WEBHOOK_MAX_RETRY", "0"),
        ] {
            match config(&[("ILP_ADDRESS", "test.a"), (name, value)]) {
                Err(ConfigError::Invalid { name: named, .. }) => assert_eq!(named, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}
