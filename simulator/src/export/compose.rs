//! `peerlab export compose`: a docker compose project.
//!
//! - `compose.yaml`: per instance a service running `peerlab node` on the network `peerlab`,
//!   healthy when `peerlab healthcheck` is, no port published; the one-shot `peerlab-runner`
//!   once they all are healthy; the runner's files as compose `configs` (read-only, named, and
//!   the same under swarm; compose mounts them from these files); each admin API secret as a
//!   compose `secret`, which the node reads through `API_SECRET_FILE` and the runner through
//!   the targets file's `admin_secret_file`.
//! - `topology.toml`, `targets.toml`: what the runner runs and where the instances are.
//! - `secrets/<service>-api-secret`: the secrets, owner-only.
//! - `report/`: where the runner writes `report.json` (bind-mounted on `/report`).
//! - `.env`, when the exporting user is known: `PEERLAB_USER`.
//!
//! Outside swarm, compose mounts secret files and `./report` as they are on the host (it ignores
//! a secret's `uid`/`mode`), so the containers run as the user who owns them: `PEERLAB_USER`,
//! `uid:gid`, which `.env` sets to whoever exported.

use super::yaml::{Yaml, map, strings, to_string};
use super::{
    CONFIG_DIR, ExportError, File, Options, RUNNER, Service, TARGETS_FILE, TOPOLOGY_FILE,
    comment_text, literal, placed, runner_args, runner_topology,
};
use crate::placement::{self, SecretsIn};
use crate::topology::Topology;

const NETWORK: &str = "peerlab";
const COMPOSE_FILE: &str = "compose.yaml";
const SECRETS_DIR: &str = "secrets";
const REPORT_DIR: &str = "report";
const TOPOLOGY_CONFIG: &str = "peerlab-topology";
const TARGETS_CONFIG: &str = "peerlab-targets";
/// Every service's `user`: required, with what to set when it is missing.
const USER: &str =
    "${PEERLAB_USER:?set PEERLAB_USER to the uid:gid owning secrets/ and report/ (as .env does)}";

/// Where compose mounts a secret in a container.
fn secret_path(service: &Service<'_>) -> String {
    format!("/run/secrets/{}", service.secret_name())
}

pub(super) fn export(
    services: &[Service<'_>],
    topology: &Topology,
    options: &Options,
) -> Result<Vec<File>, ExportError> {
    let secured: Vec<&Service<'_>> = services
        .iter()
        .filter(|service| service.api_secret().is_some())
        .collect();
    let mut entries: Vec<(String, Yaml)> = services
        .iter()
        .map(|service| Ok((service.name.clone(), node(service, options)?)))
        .collect::<Result<_, ExportError>>()?;
    entries.push((RUNNER.to_owned(), runner(services, &secured, options)));
    let mut document = vec![
        ("services", Yaml::Map(entries)),
        ("networks", map([(NETWORK, Yaml::Map(vec![]))])),
        (
            "configs",
            map([
                (
                    TOPOLOGY_CONFIG,
                    map([("file", format!("./{TOPOLOGY_FILE}").into())]),
                ),
                (
                    TARGETS_CONFIG,
                    map([("file", format!("./{TARGETS_FILE}").into())]),
                ),
            ]),
        ),
    ];
    if !secured.is_empty() {
        document.push((
            "secrets",
            Yaml::Map(
                secured
                    .iter()
                    .map(|service| {
                        (
                            service.secret_name(),
                            map([(
                                "file",
                                format!("./{SECRETS_DIR}/{}", service.secret_name()).into(),
                            )]),
                        )
                    })
                    .collect(),
            ),
        ));
    }
    let mut files = vec![
        File::new(
            COMPOSE_FILE,
            format!("{}{}", header(services, options), to_string(&map(document))),
        ),
        File::new(
            TOPOLOGY_FILE,
            runner_topology(topology, options, "from the files targets.toml names")?,
        ),
        File::new(TARGETS_FILE, targets(services, options)),
    ];
    for service in &secured {
        if let Some(secret) = service.api_secret() {
            files.push(File::secret(
                format!("{SECRETS_DIR}/{}", service.secret_name()),
                secret,
            ));
        }
    }
    files.push(File::new(
        format!("{REPORT_DIR}/README.txt"),
        format!(
            "{RUNNER} writes its JSON report here, report.json (compose mounts this directory on\n\
             /report). It exists before `docker compose up` so that it belongs to PEERLAB_USER, who\n\
             writes there, rather than to root.\n"
        ),
    ));
    if let Some(user) = &options.run_as {
        files.push(File::new(
            ".env",
            format!(
                "# The user the containers run as (uid:gid): whoever ran `peerlab export`, who owns\n\
                 # secrets/ and report/.\nPEERLAB_USER={user}\n"
            ),
        ));
    }
    Ok(files)
}

fn header(services: &[Service<'_>], options: &Options) -> String {
    let example = services
        .first()
        .map(|service| service.name.as_str())
        .unwrap_or("NAME");
    format!(
        "# Generated by `peerlab export compose` from {source}.\n\
         # Export again rather than edit. Each instance is a service of its name running `peerlab\n\
         # node` in the image {image} (`docker build -t peerlab:latest .` in peerlab's\n\
         # repository), on the network `{NETWORK}`. When they are healthy, {RUNNER} makes the\n\
         # topology's peerings, traffic and invariants on them (seed {seed}) and writes\n\
         # report/report.json. Run it in this directory:\n\
         #   docker compose up --exit-code-from {RUNNER}\n\
         # (it exits with the runner's status: 0 when every invariant held). The containers run as\n\
         # PEERLAB_USER (uid:gid; `peerlab export` writes yours in .env), who must own secrets/\n\
         # and report/: outside swarm, compose mounts them with their owners and modes as they are.\n\
         # No port is published. To reach an instance from this machine, add in\n\
         # compose.override.yaml:\n\
         #   services:\n\
         #     {example}:\n\
         #       ports: [\"3001:3001\"]   # admin; 3002 connector, 3003 Open Payments, 3005 auto-peering\n\n",
        source = comment_text(&options.source),
        image = comment_text(&options.image),
        seed = options.seed,
    )
}

fn node(service: &Service<'_>, options: &Options) -> Result<Yaml, ExportError> {
    let mut environment: Vec<(String, Yaml)> = Vec::new();
    for var in &service.environment {
        if !var.secret {
            environment.push((var.name.to_owned(), literal(&var.value).into()));
        } else if var.name == "API_SECRET" {
            // The node reads the secret compose mounts instead.
            environment.push(("API_SECRET_FILE".to_owned(), secret_path(service).into()));
        } else {
            return Err(ExportError::SecretWithoutFile(var.name));
        }
    }
    let mut entries = vec![
        ("image", literal(&options.image).into()),
        ("command", strings(["node"])),
        ("user", USER.into()),
        ("environment", Yaml::Map(environment)),
    ];
    if service.api_secret().is_some() {
        entries.push(("secrets", strings([service.secret_name()])));
    }
    entries.extend([
        (
            "healthcheck",
            map([
                ("test", strings(["CMD", "peerlab", "healthcheck"])),
                ("interval", "5s".into()),
                ("timeout", "5s".into()),
                ("retries", 3i64.into()),
                ("start_period", "10s".into()),
            ]),
        ),
        ("networks", strings([NETWORK])),
    ]);
    Ok(map(entries))
}

fn runner(services: &[Service<'_>], secured: &[&Service<'_>], options: &Options) -> Yaml {
    let mut entries = vec![
        ("image", literal(&options.image).into()),
        (
            "command",
            strings(
                runner_args(options, &format!("/{REPORT_DIR}/report.json"))
                    .iter()
                    .map(|arg| literal(arg)),
            ),
        ),
        ("user", USER.into()),
        (
            "depends_on",
            Yaml::Map(
                services
                    .iter()
                    .map(|service| {
                        (
                            service.name.clone(),
                            map([("condition", "service_healthy".into())]),
                        )
                    })
                    .collect(),
            ),
        ),
        ("restart", "no".into()),
        // The image's HEALTHCHECK asks a node's admin port, which the runner has not.
        ("healthcheck", map([("disable", true.into())])),
        (
            "configs",
            Yaml::List(vec![
                map([
                    ("source", TOPOLOGY_CONFIG.into()),
                    ("target", format!("{CONFIG_DIR}/{TOPOLOGY_FILE}").into()),
                ]),
                map([
                    ("source", TARGETS_CONFIG.into()),
                    ("target", format!("{CONFIG_DIR}/{TARGETS_FILE}").into()),
                ]),
            ]),
        ),
    ];
    if !secured.is_empty() {
        entries.push((
            "secrets",
            strings(secured.iter().map(|service| service.secret_name())),
        ));
    }
    entries.extend([
        (
            "volumes",
            strings([format!("./{REPORT_DIR}:/{REPORT_DIR}")]),
        ),
        ("networks", strings([NETWORK])),
    ]);
    map(entries)
}

/// The targets file: the services by name, each secret in the file compose mounts.
fn targets(services: &[Service<'_>], options: &Options) -> String {
    let mut file = placement::targets(&placed(services), SecretsIn::Topology);
    for (entry, service) in file.targets.iter_mut().zip(services) {
        if service.api_secret().is_some() {
            entry.admin_secret_file = Some(secret_path(service).into());
        }
    }
    format!(
        "# The instances {RUNNER} drives, generated by `peerlab export compose` from {}.\n\
         # Each is reached at its service's name; an admin API secret is read from the file\n\
         # compose mounts.\n\n{}",
        comment_text(&options.source),
        // Strings and arrays of tables: TOML holds them all.
        toml::to_string(&file)
            .unwrap_or_else(|error| unreachable!("a targets file is TOML: {error}"))
    )
}
