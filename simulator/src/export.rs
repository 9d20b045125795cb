//! `peerlab export compose|kubernetes|targets`: a topology as a container engine's own objects.
//!
//! Each instance becomes a service of the engine running the peerlab image as `peerlab node`,
//! named after the instance and configured by [`placement::environment`] (the one mapping from an
//! instance to a node's environment), and a one-shot runner, `peerlab run --targets`, makes the
//! topology's peerings, traffic and invariants on those services by their names and writes the
//! report. `targets` writes the targets file of a topology spread over `[[hosts]]`.
//!
//! [`export`] is pure: a topology in, files (relative path, bytes, whether they hold a secret)
//! out, the same bytes for the same input. [`write`] puts them in a directory.

mod compose;
mod kubernetes;
pub mod yaml;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::placement::{self, EnvVar, Placed, Placement, SecretsIn};
use crate::topology::{InstanceSpec, Topology, TopologyError};

/// The image the exported services run unless told otherwise: what the README's `docker build
/// -t peerlab:latest .` makes.
pub const DEFAULT_IMAGE: &str = "peerlab:latest";

/// The seed the runner's traffic is drawn with unless told otherwise: written into its command,
/// so that every run of an export is the same run.
pub const DEFAULT_SEED: u64 = 1;

/// The name of the runner's service (compose) and Job (Kubernetes); no instance may take it.
pub const RUNNER: &str = "peerlab-runner";

/// Where the runner finds the topology and the targets file inside its container.
const CONFIG_DIR: &str = "/etc/peerlab";
const TOPOLOGY_FILE: &str = "topology.toml";
const TARGETS_FILE: &str = "targets.toml";

/// The user the image runs as (its Dockerfile's `USER`).
const IMAGE_USER: i64 = 10001;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A docker compose project: compose.yaml, the runner's files, secrets/ and report/.
    Compose,
    /// Kubernetes manifests: peerlab.yaml, and secrets.yaml when instances have secrets.
    Kubernetes,
    /// The targets file of a topology with [[hosts]], for `peerlab run FILE --targets`.
    Targets,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compose => "compose",
            Self::Kubernetes => "kubernetes",
            Self::Targets => "targets",
        }
    }
}

/// How to export.
#[derive(Debug, Clone)]
pub struct Options {
    /// The topology's file name, for the files' header comments.
    pub source: String,
    /// The image every service runs.
    pub image: String,
    /// The seed the runner's traffic is drawn with.
    pub seed: u64,
    /// compose: `uid:gid` the containers run as, written to `.env` (see [`compose`]); `None`
    /// writes no `.env`, and `docker compose up` then asks for `PEERLAB_USER`.
    pub run_as: Option<String>,
}

impl Options {
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            image: DEFAULT_IMAGE.to_owned(),
            seed: DEFAULT_SEED,
            run_as: None,
        }
    }
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative to the export's directory.
    pub path: PathBuf,
    pub contents: Vec<u8>,
    /// Whether it holds a secret: then only its owner may read it (mode 0600).
    pub secret: bool,
}

impl File {
    fn new(path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.into(),
            contents: contents.into(),
            secret: false,
        }
    }

    fn secret(path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: true,
            ..Self::new(path, contents)
        }
    }
}

#[derive(Debug, Error)]
pub enum ExportError {
    #[error(
        "instance {instance:?} cannot name a service: {reason} (a service name is a DNS label: \
         lowercase letters, digits and '-', at most 63, starting with a letter and ending with a \
         letter or digit); rename the instance"
    )]
    ServiceName { instance: String, reason: String },
    #[error("instances {first:?} and {second:?} would both be the service {service:?}; rename one")]
    Collision {
        first: String,
        second: String,
        service: String,
    },
    #[error("instance {instance:?} would be the service {RUNNER:?}, the runner's name; rename it")]
    Reserved { instance: String },
    #[error(
        "the topology places no instance on [[hosts]]: a targets file names where instances run \
         (add [[hosts]] and a `host` to every instance, or export compose or kubernetes)"
    )]
    NoHosts,
    /// A secret variable a node cannot read from a file (only `API_SECRET` can, through
    /// `API_SECRET_FILE`): compose would have to put it in the file in plain text.
    #[error("the node's secret {0} cannot be read from a compose secret")]
    SecretWithoutFile(&'static str),
    #[error("--image {0:?}: an image reference has no spaces or control characters")]
    Image(String),
    #[error("cannot write the runner's topology: {0}")]
    Topology(#[from] TopologyError),
}

/// The files that make `topology` run on the engine `kind` names.
pub fn export(
    kind: Kind,
    topology: &Topology,
    options: &Options,
) -> Result<Vec<File>, ExportError> {
    if options.image.is_empty()
        || options
            .image
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ExportError::Image(options.image.clone()));
    }
    match kind {
        Kind::Compose => compose::export(&services(topology)?, topology, options),
        Kind::Kubernetes => kubernetes::export(&services(topology)?, topology, options),
        Kind::Targets => targets(topology, options),
    }
}

/// An instance as the engine runs it: a service of its own, reached at its name.
struct Service<'a> {
    spec: &'a InstanceSpec,
    /// The service's name: the instance's, as a DNS label.
    name: String,
    placement: Placement,
    /// What makes it a `peerlab node`, its secret among it.
    environment: Vec<EnvVar>,
}

impl Service<'_> {
    /// The name of the engine's secret holding its admin API secret.
    fn secret_name(&self) -> String {
        format!("{}-api-secret", self.name)
    }

    fn api_secret(&self) -> Option<&str> {
        self.spec.api_secret.as_deref()
    }

    /// Its port that serves auto-peering, when it does.
    fn auto_peering_port(&self) -> Option<u16> {
        let port = match self.spec.auto_peering_server_port {
            0 => self.placement.ports.auto_peering,
            port => port,
        };
        self.spec.enable_auto_peering.then_some(port)
    }
}

/// Every instance of `topology` as a service, in the file's order; refuses names that cannot be
/// services or that would be the same service.
fn services(topology: &Topology) -> Result<Vec<Service<'_>>, ExportError> {
    let mut services: Vec<Service<'_>> = Vec::with_capacity(topology.instances.len());
    for spec in &topology.instances {
        let name = service_name(&spec.name).map_err(|reason| ExportError::ServiceName {
            instance: spec.name.clone(),
            reason,
        })?;
        if name == RUNNER {
            return Err(ExportError::Reserved {
                instance: spec.name.clone(),
            });
        }
        if let Some(other) = services.iter().find(|service| service.name == name) {
            return Err(ExportError::Collision {
                first: other.spec.name.clone(),
                second: spec.name.clone(),
                service: name,
            });
        }
        let placement = Placement::service(&name);
        services.push(Service {
            spec,
            environment: placement::environment(spec, &placement),
            placement,
            name,
        });
    }
    Ok(services)
}

/// The service name of an instance: its name in lowercase, every character other than a letter,
/// a digit or '-' replaced by '-'; refused (with the reason) unless that is a DNS-1123 label
/// starting with a letter, as compose and Kubernetes need (a Kubernetes Service's name is also a
/// DNS-1035 label).
pub fn service_name(instance: &str) -> Result<String, String> {
    let name: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if name.len() > 63 {
        return Err(format!("{name:?} is longer than 63 characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("{name:?} does not start with a letter"));
    }
    if name.ends_with('-') {
        return Err(format!("{name:?} ends with '-'"));
    }
    Ok(name)
}

/// The topology the runner runs, beside the targets file: its instances' admin API secrets left
/// out (the runner reads them where the targets file says, from the engine's secret store) and
/// its hosts too (the engine places the instances).
fn runner_topology(
    topology: &Topology,
    options: &Options,
    secrets_from: &str,
) -> Result<String, ExportError> {
    let mut runner = topology.clone();
    runner.hosts.clear();
    for spec in &mut runner.instances {
        spec.api_secret = None;
        spec.host = None;
    }
    Ok(format!(
        "# The topology {RUNNER} runs, generated by `peerlab export` from {}.\n\
         # Its instances run as services of their own, so it has no [[hosts]], and their admin API\n\
         # secrets are not here: the runner reads them {secrets_from}.\n\n{}",
        comment_text(&options.source),
        runner.to_toml()?
    ))
}

/// The runner's arguments: the topology and targets files in [`CONFIG_DIR`], the seed, and where
/// the JSON report goes.
fn runner_args(options: &Options, json: &str) -> Vec<String> {
    vec![
        "run".to_owned(),
        format!("{CONFIG_DIR}/{TOPOLOGY_FILE}"),
        "--targets".to_owned(),
        format!("{CONFIG_DIR}/{TARGETS_FILE}"),
        "--seed".to_owned(),
        options.seed.to_string(),
        "--json".to_owned(),
        json.to_owned(),
    ]
}

/// The services as the runner reaches them.
fn placed<'a>(services: &'a [Service<'a>]) -> Vec<Placed<'a>> {
    services
        .iter()
        .map(|service| Placed {
            spec: service.spec,
            placement: service.placement.clone(),
        })
        .collect()
}

/// A value both engines would otherwise expand: compose reads `$VAR` and `${VAR}` in its file,
/// Kubernetes `$(VAR)` in env values and args; both read `$$` as one `$`.
fn literal(value: &str) -> String {
    value.replace('$', "$$")
}

/// Text from outside (a file name, an image) fit for a `#` comment: on one line.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `peerlab export targets`: the targets file of a topology with hosts.
fn targets(topology: &Topology, options: &Options) -> Result<Vec<File>, ExportError> {
    let placed = placement::on_hosts(topology);
    if placed.is_empty() {
        return Err(ExportError::NoHosts);
    }
    let text = format!(
        "# Where the instances of {source} run, generated by `peerlab export targets`: each on its\n\
         # host, on the ports its place among the host's instances gives it. Start each host's share\n\
         # there (`peerlab up {source} --host NAME`), then drive them all from here:\n\
         #   peerlab run {source} --targets targets.toml\n\
         # The admin API secrets stay in the topology, which the runner reads beside this file.\n\n{}",
        placement::targets_file(&placed, SecretsIn::Topology),
        source = comment_text(&options.source),
    );
    Ok(vec![File::new(TARGETS_FILE, text)])
}

/// What [`write`] did with each file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Written(PathBuf),
    /// It was there already, byte for byte.
    Unchanged(PathBuf),
}

#[derive(Debug, Error)]
pub enum WriteError {
    #[error(
        "{} already exist{} with other contents: nothing was written (--force overwrites)",
        list(.0),
        if .0.len() == 1 { "s" } else { "" }
    )]
    Exists(Vec<PathBuf>),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `files` under `dir`. A file already there with the same bytes is left as it is (so an
/// export can be repeated); one with other bytes stops the whole write before anything is
/// written, unless `force`. A file holding a secret, and the directories made for it, are
/// readable by their owner only, from the moment they exist.
pub fn write(dir: &Path, files: &[File], force: bool) -> Result<Vec<Outcome>, WriteError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| WriteError::Io { path, source }
    };
    let mut differing = Vec::new();
    for file in files {
        let path = dir.join(&file.path);
        match std::fs::read(&path) {
            Ok(existing) if existing != file.contents => differing.push(path),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(&path)(error)),
        }
    }
    if !differing.is_empty() && !force {
        return Err(WriteError::Exists(differing));
    }
    let mut outcomes = Vec::with_capacity(files.len());
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            create_dir(parent, file.secret).map_err(io(parent))?;
        }
        if std::fs::read(&path).is_ok_and(|existing| existing == file.contents) {
            if file.secret {
                owner_only(&path).map_err(io(&path))?;
            }
            outcomes.push(Outcome::Unchanged(path));
            continue;
        }
        write_file(&path, file).map_err(io(&path))?;
        outcomes.push(Outcome::Written(path));
    }
    Ok(outcomes)
}

fn create_dir(dir: &Path, secret: bool) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn write_file(path: &Path, file: &File) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if file.secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        // A new file is made owner-only; an old one (overwritten with --force) is narrowed
        // before the secret goes in.
        options.mode(0o600);
    }
    let mut handle = options.open(path)?;
    if file.secret {
        owner_only(path)?;
    }
    handle.write_all(&file.contents)
}

fn owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_dns_labels_or_refused() {
        for (instance, service) in [
            ("cloud-nine-wallet", "cloud-nine-wallet"),
            ("Cloud Nine", "cloud-nine"),
            ("bank_1", "bank-1"),
            ("a.b", "a-b"),
            ("x", "x"),
        ] {
            assert_eq!(service_name(instance).as_deref(), Ok(service), "{instance}");
        }
        let long = "a".repeat(63);
        assert_eq!(service_name(&long), Ok(long.clone()));
        for (instance, reason) in [
            ("1bank", "does not start with a letter"),
            ("-bank", "does not start with a letter"),
            ("", "does not start with a letter"),
            ("bank.", "ends with '-'"),
            ("étoile", "does not start with a letter"),
            (&format!("{long}b"), "longer than 63"),
        ] {
            let error = service_name(instance).unwrap_err();
            assert!(error.contains(reason), "{instance:?}: {error}");
        }
    }

    fn topology(instances: &[&str]) -> Topology {
        let mut text = String::new();
        for (n, name) in instances.iter().enumerate() {
            text.push_str(&format!(
                "[[instances]]\nname = {name:?}\nilp_address = \"test.i{n}\"\n\n"
            ));
        }
        Topology::parse(&text).unwrap()
    }

    #[test]
    fn colliding_and_reserved_names_are_refused_for_every_engine() {
        for kind in [Kind::Compose, Kind::Kubernetes] {
            let error = export(
                kind,
                &topology(&["Bank A", "bank-a"]),
                &Options::new("t.toml"),
            )
            .unwrap_err()
            .to_string();
            assert_eq!(
                error,
                "instances \"Bank A\" and \"bank-a\" would both be the service \"bank-a\"; \
                 rename one"
            );
            let error = export(
                kind,
                &topology(&["peerlab_runner"]),
                &Options::new("t.toml"),
            )
            .unwrap_err()
            .to_string();
            assert!(error.contains("the runner's name"), "{error}");
            let error = export(kind, &topology(&["9lives"]), &Options::new("t.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with("instance \"9lives\" cannot name a service: \"9lives\" does not start with a letter"),
                "{error}"
            );
        }
    }

    #[test]
    fn targets_need_hosts() {
        let error = export(Kind::Targets, &topology(&["a"]), &Options::new("t.toml")).unwrap_err();
        assert!(matches!(error, ExportError::NoHosts), "{error}");
    }

    #[test]
    fn an_image_with_spaces_is_refused() {
        let mut options = Options::new("t.toml");
        options.image = "peerlab latest".to_owned();
        let error = export(Kind::Compose, &topology(&["a"]), &options).unwrap_err();
        assert!(matches!(error, ExportError::Image(_)), "{error}");
    }

    #[test]
    fn engines_read_dollars_literally() {
        assert_eq!(literal("a$b$(C)${D}"), "a$$b$$(C)$${D}");
    }

    #[test]
    fn writing_refuses_other_contents_keeps_identical_ones_and_hides_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            File::new("compose.yaml", "services: {}\n"),
            File::secret("secrets/a-api-secret", "s3cret"),
        ];
        let written = write(dir.path(), &files, false).unwrap();
        assert!(written.iter().all(|o| matches!(o, Outcome::Written(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |path: &str| {
                std::fs::metadata(dir.path().join(path))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode("secrets/a-api-secret"), 0o600);
            assert_eq!(mode("secrets"), 0o700);
        }
        // Again, the same: nothing to do.
        let again = write(dir.path(), &files, false).unwrap();
        assert!(again.iter().all(|o| matches!(o, Outcome::Unchanged(_))));
        // Other contents: refused whole, nothing touched.
        let changed = vec![
            File::new("compose.yaml", "services: {x: {}}\n"),
            File::new("new.txt", "new"),
        ];
        let error = write(dir.path(), &changed, false).unwrap_err().to_string();
        assert!(
            error.ends_with("compose.yaml already exists with other contents: nothing was written (--force overwrites)"),
            "{error}"
        );
        assert!(!dir.path().join("new.txt").exists());
        // --force overwrites.
        write(dir.path(), &changed, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
            "services: {x: {}}\n"
        );
    }
}
