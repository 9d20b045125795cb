//! A targets file (`peerlab test --target FILE`): the instances of a real Rafiki-compatible
//! deployment the feature files run on instead of fresh embedded instances.
//!
//! The file names each instance's public faces (admin GraphQL, connector, Open Payments), its ILP
//! address and the admin dialect its clients speak. Secrets never sit in the file: it names the
//! environment variables holding the admin API secret and the tenant id, or a file holding the
//! secret (a container engine's secret, `admin_secret_file`), read once when the file is loaded,
//! so that a missing one is refused before any scenario runs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use peerlab::ilp::Address;
use serde::{Deserialize, Serialize};

use super::world::Dialect;
use crate::client::{TlsConfig, default_tls, tls_trusting};

/// One instance of the deployment, as the steps reach it.
#[derive(Clone)]
pub struct Target {
    /// The name feature files give the instance (`"Cloud Nine"`).
    pub name: String,
    pub ilp_address: Address,
    pub admin_graphql_url: String,
    pub connector_url: String,
    pub open_payments_url: String,
    /// Where its auto-peering server listens, when it has one.
    pub auto_peering_url: Option<String>,
    /// The admin API secret requests are signed with (`signature` header), if it requires them.
    pub secret: Option<String>,
    /// `ADMIN_API_SIGNATURE_VERSION` of the instance.
    pub signature_version: u32,
    /// Sent as `tenant-id` on every admin request.
    pub tenant_id: Option<String>,
    pub dialect: Dialect,
    /// Whom its HTTPS servers are trusted on: Mozilla's roots, and its `ca_certificate` if any.
    pub tls: TlsConfig,
}

/// Secrets stay out of logs and panics: a `Debug` of a target says only whether it has them.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("ilp_address", &self.ilp_address.as_str())
            .field("admin_graphql_url", &self.admin_graphql_url)
            .field("connector_url", &self.connector_url)
            .field("open_payments_url", &self.open_payments_url)
            .field("auto_peering_url", &self.auto_peering_url)
            .field("signed", &self.secret.is_some())
            .field("tenant_id", &self.tenant_id.is_some())
            .field("dialect", &self.dialect)
            .finish()
    }
}

/// The deployment a run targets.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The file it was read from, for messages.
    pub file: PathBuf,
    pub targets: Vec<Target>,
}

impl Targets {
    pub fn get(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|target| target.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.targets.iter().map(|t| t.name.as_str()).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error("cannot read the targets file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}: no [[targets]]: name at least one instance", .0.display())]
    Empty(PathBuf),
    #[error("{}: target {target:?}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        target: String,
        reason: String,
    },
}

/// A targets file as written: what `peerlab export` writes for the instances it places.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsFile {
    #[serde(default)]
    pub targets: Vec<TargetEntry>,
}

/// One `[[targets]]` entry as written.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    pub name: String,
    pub admin_graphql_url: String,
    pub connector_url: String,
    pub open_payments_url: String,
    pub ilp_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_peering_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_secret_env: Option<String>,
    /// A file holding the admin API secret instead (its content but one trailing line ending),
    /// relative to the targets file or absolute: where a container engine mounts a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_secret_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id_env: Option<String>,
    /// A PEM file of certificate authorities to trust besides Mozilla's roots, relative to the
    /// targets file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<PathBuf>,
    pub dialect: DialectName,
}

/// The admin dialect a target's clients speak.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DialectName {
    Seed,
    V2,
}

/// Reads and checks a targets file; the environment is read through `env` (the process's in
/// `peerlab test`), so that tests need not change the process's environment.
pub fn load(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Targets, TargetsError> {
    let text = std::fs::read_to_string(path).map_err(|source| TargetsError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text, env)
}

pub fn parse(
    path: &Path,
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Targets, TargetsError> {
    let file: TargetsFile = toml::from_str(text).map_err(|error| TargetsError::Syntax {
        path: path.to_owned(),
        message: error.to_string(),
    })?;
    if file.targets.is_empty() {
        return Err(TargetsError::Empty(path.to_owned()));
    }
    let mut names = HashSet::new();
    let mut targets = Vec::with_capacity(file.targets.len());
    for entry in file.targets {
        let invalid = |reason: String| TargetsError::Invalid {
            path: path.to_owned(),
            target: entry.name.clone(),
            reason,
        };
        if entry.name.trim().is_empty() {
            return Err(invalid("name is empty".into()));
        }
        if !names.insert(entry.name.clone()) {
            return Err(invalid("another target has this name".into()));
        }
        for (field, url) in [
            ("admin_graphql_url", Some(&entry.admin_graphql_url)),
            ("connector_url", Some(&entry.connector_url)),
            ("open_payments_url", Some(&entry.open_payments_url)),
            ("auto_peering_url", entry.auto_peering_url.as_ref()),
        ] {
            if let Some(url) = url {
                check_url(url).map_err(|reason| invalid(format!("{field}: {reason}")))?;
            }
        }
        let ilp_address = Address::parse(&entry.ilp_address)
            .map_err(|error| invalid(format!("ilp_address {:?}: {error}", entry.ilp_address)))?;
        let from_env = |field: &str, variable: &Option<String>| -> Result<_, TargetsError> {
            let Some(variable) = variable else {
                return Ok(None);
            };
            match env(variable) {
                Some(value) if !value.is_empty() => Ok(Some(value)),
                _ => Err(invalid(format!(
                    "{field} names the environment variable {variable}, which is not set"
                ))),
            }
        };
        let secret = match (&entry.admin_secret_env, &entry.admin_secret_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "set admin_secret_env or admin_secret_file, not both".into(),
                ));
            }
            (_, None) => from_env("admin_secret_env", &entry.admin_secret_env)?,
            (None, Some(file)) => {
                let file = path.parent().unwrap_or(Path::new("")).join(file);
                let content = std::fs::read_to_string(&file).map_err(|error| {
                    invalid(format!(
                        "admin_secret_file: cannot read {}: {error}",
                        file.display()
                    ))
                })?;
                let secret = peerlab::config::secret_file_content(&content).ok_or_else(|| {
                    invalid(format!("admin_secret_file: {} is empty", file.display()))
                })?;
                Some(secret.to_owned())
            }
        };
        let tenant_id = from_env("tenant_id_env", &entry.tenant_id_env)?;
        let signature_version = entry
            .signature_version
            .unwrap_or(peerlab::admin::signature::DEFAULT_VERSION);
        let tls = match &entry.ca_certificate {
            None => default_tls(),
            Some(ca) => {
                let ca = path.parent().unwrap_or(Path::new("")).join(ca);
                tls_trusting(&ca).map_err(|error| invalid(format!("ca_certificate: {error}")))?
            }
        };
        targets.push(Target {
            name: entry.name,
            ilp_address,
            admin_graphql_url: entry.admin_graphql_url,
            connector_url: entry.connector_url,
            open_payments_url: entry.open_payments_url,
            auto_peering_url: entry.auto_peering_url,
            secret,
            signature_version,
            tenant_id,
            dialect: match entry.dialect {
                DialectName::Seed => Dialect::Seed,
                DialectName::V2 => Dialect::V2,
            },
            tls,
        });
    }
    Ok(Targets {
        file: path.to_owned(),
        targets,
    })
}

/// An absolute http(s) URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let parsed: hyper::Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    match (parsed.scheme_str(), parsed.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        _ => Err(format!("{url:?} is not an http(s) URL with a host")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[targets]]
name = "Cloud Nine"
admin_graphql_url = "http://127.0.0.1:3001/graphql"
connector_url = "http://127.0.0.1:3002"
open_payments_url = "http://127.0.0.1:3000"
ilp_address = "test.cloud-nine-wallet"
admin_secret_env = "CN_SECRET"
tenant_id_env = "CN_TENANT"
dialect = "v2"
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "CN_SECRET" => Some("s3cr3t".into()),
            "CN_TENANT" => Some("438fa74a-fa7d-4317-9ced-dde32ece1787".into()),
            _ => None,
        }
    }

    #[test]
    fn a_target_reads_its_secrets_from_the_environment() {
        let targets = parse(Path::new("t.toml"), ONE, env).unwrap();
        let target = &targets.targets[0];
        assert_eq!(target.secret.as_deref(), Some("s3cr3t"));
        assert_eq!(target.dialect, Dialect::V2);
        assert_eq!(target.signature_version, 1);
        assert!(!format!("{target:?}").contains("s3cr3t"));
    }

    #[test]
    fn the_starter_kits_targets_file_is_a_valid_one() {
        let text = include_str!("../../templates/init/targets.toml");
        let targets = parse(Path::new("targets.toml"), text, |_| Some("set".into())).unwrap();
        assert_eq!(targets.names(), ["Cloud Nine", "Happy Life"]);
    }

    #[test]
    fn a_missing_environment_variable_is_named() {
        let error = parse(Path::new("t.toml"), ONE, |_| None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "t.toml: target \"Cloud Nine\": admin_secret_env names the environment variable \
             CN_SECRET, which is not set"
        );
    }

    #[test]
    fn a_target_reads_its_secret_from_a_file_next_to_the_targets_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cn.secret"), "from a file\n").unwrap();
        std::fs::write(dir.path().join("empty.secret"), "\n").unwrap();
        let targets_path = dir.path().join("targets.toml");
        let with_file = |line: &str| ONE.replace("admin_secret_env = \"CN_SECRET\"", line);
        let targets = parse(
            &targets_path,
            &with_file("admin_secret_file = \"cn.secret\""),
            env,
        )
        .unwrap();
        assert_eq!(targets.targets[0].secret.as_deref(), Some("from a file"));
        // An absolute path is taken as it is.
        let absolute = dir.path().join("cn.secret");
        let text = with_file(&format!(
            "admin_secret_file = {:?}",
            absolute.display().to_string()
        ));
        let targets = parse(Path::new("elsewhere/targets.toml"), &text, env).unwrap();
        assert_eq!(targets.targets[0].secret.as_deref(), Some("from a file"));
        for (line, expected) in [
            (
                "admin_secret_file = \"missing.secret\"",
                "admin_secret_file: cannot read",
            ),
            (
                "admin_secret_file = \"empty.secret\"",
                "empty.secret is empty",
            ),
            (
                "admin_secret_env = \"CN_SECRET\"\nadmin_secret_file = \"cn.secret\"",
                "set admin_secret_env or admin_secret_file, not both",
            ),
        ] {
            let error = parse(&targets_path, &with_file(line), env)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
            assert!(!error.contains("from a file"), "{error}");
        }
    }

    #[test]
    fn mistakes_are_refused_with_what_is_wrong() {
        let cases = [
            (ONE.replace("v2", "rafiki"), "unknown variant `rafiki`"),
            (
                ONE.replace("http://127.0.0.1:3002", "127.0.0.1:3002"),
                "connector_url: \"127.0.0.1:3002\" is not an http(s) URL with a host",
            ),
            (
                ONE.replace("test.cloud-nine-wallet", "cloud nine"),
                "ilp_address \"cloud nine\"",
            ),
            (ONE.replace("dialect", "dialekt"), "unknown field `dialekt`"),
            (format!("{ONE}{ONE}"), "another target has this name"),
            (String::new(), "no [[targets]]"),
        ];
        for (text, expected) in cases {
            let error = parse(Path::new("t.toml"), &text, env)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }
}
