//! `peerlab export`, the image and `peerlab healthcheck`, checked without a container engine
//! (this machine's cannot run containers):
//! - the compose and Kubernetes exports of three topologies are byte for byte the committed
//!   snapshots under `fixtures/export/<topology>/<kind>/` (`UPDATE_SNAPSHOTS=1` rewrites them),
//!   and the same on every export;
//! - they validate against the Compose Specification's schema and Kubernetes' (strict, two
//!   releases), as does the README's compose file beside Rafiki's local environment, with the
//!   validators `scripts/install-validators.sh` installs; a validator that cannot be installed
//!   fails the test;
//! - what the engines would hand each container is a valid `peerlab node` configuration and a
//!   targets file that reaches every instance with its secret;
//! - the Dockerfile has the structure the README promises, and is built where `docker info`
//!   answers;
//! - `peerlab healthcheck` answers 0 for a running node and 1 for a closed port.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use peerlab::config::Config;
use peerlab_simulator::Topology;
use peerlab_simulator::export::{self, File, Kind, Options};
use yaml_serde::Value;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the simulator is in the workspace")
        .to_owned()
}

/// The topologies exported: two shipped ones, and one with what they lack (secrets, tenants,
/// auto-peering on a fixed port, rates, names that are not DNS labels).
fn topologies() -> Vec<(&'static str, PathBuf)> {
    let root = repository();
    vec![
        ("pair", root.join("fixtures/topologies/pair.toml")),
        (
            "rafiki-localenv",
            root.join("fixtures/topologies/rafiki-localenv.toml"),
        ),
        (
            "secured-auto-peering",
            root.join("fixtures/export/secured-auto-peering.toml"),
        ),
    ]
}

fn export_of(kind: Kind, path: &Path) -> Vec<File> {
    let topology = Topology::load(path).expect("the topology loads");
    let name = path.file_name().expect("a file").to_string_lossy();
    export::export(kind, &topology, &Options::new(name)).expect("it exports")
}

/// Every file under `dir`, relative to it, with its bytes.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                let relative = path.strip_prefix(root).expect("under the root").to_owned();
                into.insert(relative, std::fs::read(&path).expect("readable"));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

#[test]
fn exports_match_their_snapshots_and_repeat_byte_for_byte() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|value| value == "1");
    let mut differing = Vec::new();
    for (name, path) in topologies() {
        for kind in [Kind::Compose, Kind::Kubernetes] {
            let files = export_of(kind, &path);
            assert_eq!(
                files,
                export_of(kind, &path),
                "{name} {kind:?}: same input, same bytes"
            );
            let dir = repository()
                .join("fixtures/export")
                .join(name)
                .join(kind.as_str());
            let exported: BTreeMap<PathBuf, Vec<u8>> = files
                .into_iter()
                .map(|file| (file.path, file.contents))
                .collect();
            if update {
                let _ = std::fs::remove_dir_all(&dir);
                for (relative, contents) in &exported {
                    let path = dir.join(relative);
                    std::fs::create_dir_all(path.parent().expect("a parent")).unwrap();
                    std::fs::write(&path, contents).unwrap();
                }
            }
            let snapshot = files_under(&dir);
            let names = |files: &BTreeMap<PathBuf, Vec<u8>>| -> BTreeSet<PathBuf> {
                files.keys().cloned().collect()
            };
            if names(&snapshot) != names(&exported) {
                differing.push(format!(
                    "{}: files {:?}, snapshot has {:?}",
                    dir.display(),
                    names(&exported),
                    names(&snapshot)
                ));
                continue;
            }
            for (relative, contents) in &exported {
                if snapshot.get(relative) != Some(contents) {
                    differing.push(format!(
                        "{} differs:\n{}",
                        dir.join(relative).display(),
                        first_difference(&snapshot[relative], contents)
                    ));
                }
            }
        }
    }
    assert!(
        differing.is_empty(),
        "the exports differ from their snapshots (if the change is meant, rewrite them with \
         UPDATE_SNAPSHOTS=1 cargo test -p peerlab-simulator --test export, and review the diff):\n{}",
        differing.join("\n")
    );
}

/// The first line where `snapshot` and `exported` part, for the failure message.
fn first_difference(snapshot: &[u8], exported: &[u8]) -> String {
    let snapshot = String::from_utf8_lossy(snapshot);
    let exported = String::from_utf8_lossy(exported);
    let mut old = snapshot.lines();
    let mut new = exported.lines();
    for number in 1.. {
        match (old.next(), new.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                return format!("  line {number}\n  snapshot: {a:?}\n  exported: {b:?}");
            }
        }
    }
    "  (the same lines; line endings differ)".to_owned()
}

/// Writes `files` into a fresh directory under the test's target directory.
fn written(label: &str, files: &[File]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("export")
        .join(label);
    let _ = std::fs::remove_dir_all(&dir);
    export::write(&dir, files, false).expect("the export is written");
    dir
}

/// The validators' bin directory; installs them when missing (an install that fails fails the
/// test: a validation that cannot run is not a pass).
fn validators() -> PathBuf {
    let script = repository().join("scripts/install-validators.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .expect("bash runs the install script");
    assert!(
        output.status.success(),
        "scripts/install-validators.sh failed ({}): the exports cannot be validated",
        output.status
    );
    PathBuf::from(String::from_utf8(output.stdout).expect("a path").trim())
}

/// Runs a validator; its status and everything it printed.
fn validate(program: &Path, args: &[&str], files: &[PathBuf]) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .args(files)
        .output()
        .unwrap_or_else(|error| panic!("{} runs: {error}", program.display()));
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// Kubernetes releases the manifests are checked against: an older one still served, and the
/// newest the pinned kubernetes-validate knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];

#[test]
fn exports_validate_against_the_engines_schemas() {
    let bin = validators();
    let check_jsonschema = bin.join("check-jsonschema");
    let kubernetes_validate = bin.join("kubernetes-validate");
    let mut compose_files = Vec::new();
    let mut manifests = Vec::new();
    for (name, path) in topologies() {
        let dir = written(&format!("{name}-compose"), &export_of(Kind::Compose, &path));
        compose_files.push(dir.join("compose.yaml"));
        let dir = written(
            &format!("{name}-kubernetes"),
            &export_of(Kind::Kubernetes, &path),
        );
        manifests.extend(
            files_under(&dir)
                .into_keys()
                .map(|relative| dir.join(relative)),
        );
    }
    assert_eq!(manifests.len(), 4, "{manifests:?}");

    // The README's compose file that puts peerlab beside Rafiki's local environment.
    let snippet = Path::new(env!("CARGO_TARGET_TMPDIR")).join("export/peerlab-localenv.yaml");
    std::fs::write(&snippet, readme_localenv_snippet()).unwrap();
    compose_files.push(snippet);

    let compose_schema = ["--builtin-schema", "vendor.compose-spec"];
    let (valid, output) = validate(&check_jsonschema, &compose_schema, &compose_files);
    assert!(
        valid,
        "compose files against the Compose Specification:\n{output}"
    );
    for version in KUBERNETES_VERSIONS {
        let args = ["--strict", "--kubernetes-version", version];
        let (valid, output) = validate(&kubernetes_validate, &args, &manifests);
        assert!(valid, "manifests against Kubernetes {version}:\n{output}");
        // Every object of every file was checked (none skipped as of an unknown kind).
        assert_eq!(
            output.matches(" passed for resource ").count(),
            // Per instance a Deployment and a Service (2 + 3 + 3 instances), per topology a
            // ConfigMap and a Job, and secured-auto-peering's two Secrets.
            2 * 8 + 2 * 3 + 2,
            "{output}"
        );
    }

    // The validators do refuse what breaks the schemas: a misspelt field in each.
    let broken = Path::new(env!("CARGO_TARGET_TMPDIR")).join("export/broken");
    std::fs::create_dir_all(&broken).unwrap();
    let compose = std::fs::read_to_string(&compose_files[0]).unwrap();
    std::fs::write(
        broken.join("compose.yaml"),
        compose.replacen("    healthcheck:", "    healthchek:", 1),
    )
    .unwrap();
    let (valid, _) = validate(
        &check_jsonschema,
        &compose_schema,
        &[broken.join("compose.yaml")],
    );
    assert!(!valid, "a misspelt compose field passed");
    let manifest = std::fs::read_to_string(&manifests[0]).unwrap();
    std::fs::write(
        broken.join("peerlab.yaml"),
        manifest.replacen("readinessProbe:", "readynessProbe:", 1),
    )
    .unwrap();
    let args = ["--strict", "--kubernetes-version", KUBERNETES_VERSIONS[1]];
    let (valid, _) = validate(&kubernetes_validate, &args, &[broken.join("peerlab.yaml")]);
    assert!(!valid, "a misspelt Kubernetes field passed");
}

/// The first YAML block of the README's "Beside Rafiki's local environment".
fn readme_localenv_snippet() -> String {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let section = readme
        .split_once("### Beside Rafiki's local environment")
        .expect("the README's section")
        .1;
    let block = section
        .split_once("```yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a YAML block in it")
        .0;
    assert!(block.contains("name: rafiki_rafiki"), "{block}");
    block.to_owned()
}

/// A value as the engine hands it to the container: `$$` is one `$` to both engines.
fn engine_value(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => panic!("an environment value {other:?}"),
    };
    text.replace("$$", "$")
}

fn parse_yaml_documents(text: &str) -> Vec<Value> {
    use serde::Deserialize as _;
    yaml_serde::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).expect("a YAML document"))
        .collect()
}

fn contents<'a>(files: &'a [File], path: &str) -> &'a str {
    let file = files
        .iter()
        .find(|file| file.path == Path::new(path))
        .unwrap_or_else(|| panic!("{path} is exported"));
    std::str::from_utf8(&file.contents).expect("UTF-8")
}

/// The topology as the runner gets it: the original without secrets and hosts.
fn without_secrets(topology: &Topology) -> Topology {
    let mut expected = topology.clone();
    expected.hosts.clear();
    for spec in &mut expected.instances {
        spec.api_secret = None;
        spec.host = None;
    }
    expected
}

/// The node's configuration from a container's environment, files read through `files`.
fn node_config(
    environment: &BTreeMap<String, String>,
    files: impl Fn(&Path) -> Option<String>,
) -> Config {
    Config::from_sources(
        |name| environment.get(name).cloned(),
        |path| files(path).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound)),
    )
    .unwrap_or_else(|error| panic!("{environment:?}: {error}"))
}

#[test]
fn compose_gives_each_container_a_working_configuration() {
    for (name, path) in topologies() {
        let topology = Topology::load(&path).unwrap();
        let files = export_of(Kind::Compose, &path);
        let compose: Value = yaml_serde::from_str(contents(&files, "compose.yaml")).unwrap();
        let secret_file = |mounted: &Path| {
            let name = mounted.strip_prefix("/run/secrets").ok()?;
            let file = files
                .iter()
                .find(|file| file.path == Path::new("secrets").join(name))?;
            assert!(file.secret, "{} is marked secret", file.path.display());
            Some(String::from_utf8(file.contents.clone()).unwrap())
        };
        for spec in &topology.instances {
            let service_name = export::service_name(&spec.name).unwrap();
            let service = &compose["services"][service_name.as_str()];
            let environment: BTreeMap<String, String> = service["environment"]
                .as_mapping()
                .unwrap_or_else(|| panic!("{name}: {service_name} has an environment"))
                .iter()
                .map(|(key, value)| (key.as_str().unwrap().to_owned(), engine_value(value)))
                .collect();
            assert!(!environment.contains_key("API_SECRET"), "{environment:?}");
            let config = node_config(&environment, secret_file);
            assert_eq!(config.api_secret, spec.api_secret, "{name}: {}", spec.name);
            assert_eq!(config.instance_name, spec.name);
            assert_eq!(config.bind_address.to_string(), "0.0.0.0");
            assert_eq!(
                config.ilp_connector_url.map(String::from),
                Some(format!("http://{service_name}:3002/"))
            );
        }
        let runner = Topology::parse(contents(&files, "topology.toml")).unwrap();
        assert_eq!(runner, without_secrets(&topology), "{name}");
        // The targets file, with compose's /run/secrets/ where the export wrote the secrets.
        let dir = written(&format!("{name}-compose-targets"), &files);
        let targets_text = contents(&files, "targets.toml")
            .replace("\"/run/secrets/", &format!("\"{}/secrets/", dir.display()));
        let targets = peerlab_simulator::harness::targets::parse(
            &dir.join("targets.toml"),
            &targets_text,
            |_| None,
        )
        .unwrap_or_else(|error| panic!("{name}: {error}"));
        for (target, spec) in targets.targets.iter().zip(&topology.instances) {
            assert_eq!(target.name, spec.name);
            assert_eq!(target.secret, spec.api_secret, "{name}: {}", spec.name);
            assert!(
                target.admin_graphql_url.starts_with(&format!(
                    "http://{}:3001/",
                    export::service_name(&spec.name).unwrap()
                )),
                "{}",
                target.admin_graphql_url
            );
        }
    }
}

#[test]
fn kubernetes_gives_each_container_a_working_configuration() {
    for (name, path) in topologies() {
        let topology = Topology::load(&path).unwrap();
        let files = export_of(Kind::Kubernetes, &path);
        let documents = parse_yaml_documents(contents(&files, "peerlab.yaml"));
        let secrets: BTreeMap<String, String> = files
            .iter()
            .filter(|file| file.path == Path::new("secrets.yaml"))
            .flat_map(|file| {
                assert!(file.secret);
                parse_yaml_documents(std::str::from_utf8(&file.contents).unwrap())
            })
            .map(|secret| {
                assert_eq!(secret["kind"], "Secret");
                (
                    secret["metadata"]["name"].as_str().unwrap().to_owned(),
                    secret["stringData"]["api-secret"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect();
        assert!(
            documents
                .iter()
                .all(|document| document["kind"] != "Secret"),
            "{name}: peerlab.yaml holds no secret"
        );
        // An env list as the kubelet resolves it: values, and secretKeyRefs from the Secrets.
        let resolve = |env: &Value| -> BTreeMap<String, String> {
            env.as_sequence()
                .expect("an env list")
                .iter()
                .map(|var| {
                    let value = match &var["valueFrom"]["secretKeyRef"] {
                        Value::Null => engine_value(&var["value"]),
                        reference => {
                            assert_eq!(reference["key"], "api-secret");
                            secrets[reference["name"].as_str().unwrap()].clone()
                        }
                    };
                    (var["name"].as_str().unwrap().to_owned(), value)
                })
                .collect()
        };
        let of_kind = |kind: &str| -> Vec<&Value> {
            documents
                .iter()
                .filter(|document| document["kind"] == kind)
                .collect()
        };
        let deployments = of_kind("Deployment");
        assert_eq!(deployments.len(), topology.instances.len());
        assert_eq!(of_kind("Service").len(), topology.instances.len());
        for (deployment, spec) in deployments.iter().zip(&topology.instances) {
            let container = &deployment["spec"]["template"]["spec"]["containers"][0];
            let config = node_config(&resolve(&container["env"]), |_| None);
            assert_eq!(config.api_secret, spec.api_secret, "{name}: {}", spec.name);
            assert_eq!(config.instance_name, spec.name);
            assert_eq!(
                deployment["metadata"]["name"].as_str(),
                Some(export::service_name(&spec.name).unwrap().as_str())
            );
        }
        let config_map = of_kind("ConfigMap")[0];
        let runner =
            Topology::parse(config_map["data"]["topology.toml"].as_str().unwrap()).unwrap();
        assert_eq!(runner, without_secrets(&topology), "{name}");
        let job = of_kind("Job")[0];
        let runner_env = resolve(&job["spec"]["template"]["spec"]["containers"][0]["env"]);
        let targets = peerlab_simulator::harness::targets::parse(
            Path::new("/etc/peerlab/targets.toml"),
            config_map["data"]["targets.toml"].as_str().unwrap(),
            |variable| runner_env.get(variable).cloned(),
        )
        .unwrap_or_else(|error| panic!("{name}: {error}"));
        for (target, spec) in targets.targets.iter().zip(&topology.instances) {
            assert_eq!(target.name, spec.name);
            assert_eq!(target.secret, spec.api_secret, "{name}: {}", spec.name);
        }
    }
}

fn peerlab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_peerlab"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

#[test]
fn the_command_writes_refuses_to_clobber_and_prints_targets() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("export/command");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let topology = repository().join("fixtures/export/secured-auto-peering.toml");
    let export_compose = || {
        peerlab()
            .current_dir(&dir)
            .args(["export", "compose"])
            .arg(&topology)
            .output()
            .unwrap()
    };
    let first = export_compose();
    assert!(first.status.success(), "{first:?}");
    let out = dir.join("peerlab-compose");
    // The library's export, plus `.env` naming whoever exported.
    let mut expected: BTreeSet<PathBuf> = export_of(Kind::Compose, &topology)
        .into_iter()
        .map(|file| file.path)
        .collect();
    expected.insert(PathBuf::from(".env"));
    assert_eq!(
        files_under(&out).into_keys().collect::<BTreeSet<_>>(),
        expected
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let secret = std::fs::metadata(out.join("secrets/cloud-nine-api-secret")).unwrap();
        assert_eq!(secret.permissions().mode() & 0o777, 0o600);
        let env = std::fs::read_to_string(out.join(".env")).unwrap();
        assert!(
            env.ends_with(&format!(
                "\nPEERLAB_USER={}:{}\n",
                secret.uid(),
                secret.gid()
            )),
            "{env}"
        );
    }
    let again = export_compose();
    assert!(again.status.success(), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stdout).contains("compose.yaml is unchanged"));
    std::fs::write(out.join("topology.toml"), "edited").unwrap();
    let refused = export_compose();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("topology.toml already exists with other contents: nothing was written"),
        "{stderr}"
    );

    // Targets: to stdout, for a topology on hosts; refused without them.
    let spread = dir.join("spread.toml");
    std::fs::write(
        &spread,
        "[[hosts]]\nname = \"alpha\"\naddress = \"10.77.0.1\"\n\n\
         [[instances]]\nname = \"a\"\nilp_address = \"test.a\"\nhost = \"alpha\"\n",
    )
    .unwrap();
    let targets = peerlab()
        .args(["export", "targets"])
        .arg(&spread)
        .output()
        .unwrap();
    assert!(targets.status.success(), "{targets:?}");
    let text = String::from_utf8(targets.stdout).unwrap();
    assert!(
        text.starts_with("# Where the instances of spread.toml run"),
        "{text}"
    );
    assert!(
        text.contains("admin_graphql_url = \"http://10.77.0.1:3001/graphql\""),
        "{text}"
    );
    let no_hosts = peerlab()
        .args(["export", "targets"])
        .arg(&topology)
        .output()
        .unwrap();
    assert_eq!(no_hosts.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&no_hosts.stderr).contains("places no instance on [[hosts]]"),
        "{no_hosts:?}"
    );
}

/// The Dockerfile's instructions, continuation lines joined, comments and blanks left out.
fn dockerfile_instructions(text: &str) -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let (keyword, rest) = pending.split_once(' ').unwrap_or((&pending, ""));
        instructions.push((keyword.to_ascii_uppercase(), rest.trim().to_owned()));
        pending.clear();
    }
    instructions
}

#[test]
fn the_dockerfile_builds_a_small_non_root_image_running_peerlab_node() {
    let root = repository();
    let text = std::fs::read_to_string(root.join("Dockerfile")).expect("a Dockerfile at the root");
    let instructions = dockerfile_instructions(&text);
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (keyword, _))| keyword == "FROM")
        .map(|(n, _)| n)
        .collect();
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");
    let from = &instructions[stages[0]].1;
    assert_eq!(from, "rust:1.95-slim-bookworm AS builder");
    let last = &instructions[*stages.last().unwrap()..];
    assert!(
        last[0].1.starts_with("debian:bookworm-slim"),
        "the final stage is the runtime, not the builder: {}",
        last[0].1
    );
    let final_stage = |keyword: &str| -> Vec<&str> {
        last.iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, rest)| rest.as_str())
            .collect()
    };
    assert!(
        instructions[..*stages.last().unwrap()]
            .iter()
            .any(|(k, rest)| k == "RUN"
                && rest
                    .contains("cargo build --release --locked -p peerlab-simulator --bin peerlab")),
        "the builder builds the binary"
    );
    assert_eq!(final_stage("USER"), ["10001:10001"]);
    assert_eq!(final_stage("ENV"), ["BIND_ADDRESS=0.0.0.0"]);
    assert_eq!(final_stage("EXPOSE"), ["3001 3002 3003 3005"]);
    assert_eq!(final_stage("ENTRYPOINT"), ["[\"peerlab\"]"]);
    assert_eq!(final_stage("CMD"), ["[\"node\"]"]);
    let healthcheck = final_stage("HEALTHCHECK");
    assert_eq!(healthcheck.len(), 1);
    assert!(
        healthcheck[0].ends_with("CMD [\"peerlab\", \"healthcheck\"]"),
        "{healthcheck:?}"
    );
    // No compiler in the runtime: nothing installed there but the user.
    for (keyword, rest) in last {
        assert!(
            keyword != "RUN" || !rest.contains("apt-get"),
            "the runtime installs nothing: {rest}"
        );
    }
    assert!(
        final_stage("COPY")
            .iter()
            .all(|copy| copy.starts_with("--from=builder ")),
        "the runtime takes only the binary"
    );
    let ignored = std::fs::read_to_string(root.join(".dockerignore")).expect(".dockerignore");
    assert!(ignored.lines().any(|line| line.trim() == "target/"));

    let docker_answers = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !docker_answers {
        println!(
            "docker build skipped: `docker info` fails here (no container engine runs on this \
             machine); the Dockerfile's structure was checked instead"
        );
        return;
    }
    let build = Command::new("docker")
        .args(["build", "-t", "peerlab:test", "."])
        .current_dir(&root)
        .status()
        .expect("docker runs");
    assert!(build.success(), "docker build failed");
}

#[test]
fn healthcheck_is_0_for_a_running_node_and_1_for_a_closed_port() {
    let mut node = peerlab()
        .arg("node")
        .env("ILP_ADDRESS", "test.healthcheck")
        .env("ADMIN_PORT", "0")
        .env("CONNECTOR_PORT", "0")
        .env("OPEN_PAYMENTS_PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peerlab node starts");
    let stderr = node.stderr.take().expect("piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("is up") {
                let _ = sender.send(line);
            }
        }
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("the node logs its URLs");
    let admin = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("admin="))
        .expect("the admin URL")
        .trim_end_matches("/graphql")
        .to_owned();
    let port = admin.rsplit(':').next().expect("a port").to_owned();

    // As the image runs it: ADMIN_PORT from the environment, no URL.
    let healthy = peerlab()
        .arg("healthcheck")
        .env("ADMIN_PORT", &port)
        .output()
        .unwrap();
    let by_url = peerlab()
        .args(["healthcheck", "--url", &format!("{admin}/healthz")])
        .output()
        .unwrap();
    // A path the admin server does not serve answers 404: not healthy.
    let not_found = peerlab()
        .args(["healthcheck", "--url", &format!("{admin}/nowhere")])
        .output()
        .unwrap();
    let _ = node.kill();
    let _ = node.wait();
    assert_eq!(healthy.status.code(), Some(0), "{healthy:?}");
    assert_eq!(by_url.status.code(), Some(0), "{by_url:?}");
    assert!(String::from_utf8_lossy(&healthy.stdout).contains("answered 200"));
    assert_eq!(not_found.status.code(), Some(1), "{not_found:?}");
    assert!(
        String::from_utf8_lossy(&not_found.stderr).contains("/nowhere answered HTTP 404"),
        "{not_found:?}"
    );

    // A port nothing listens on: the node's, now that it is gone.
    let closed = peerlab()
        .arg("healthcheck")
        .env("ADMIN_PORT", &port)
        .output()
        .unwrap();
    assert_eq!(closed.status.code(), Some(1), "{closed:?}");
    let reason = String::from_utf8_lossy(&closed.stderr);
    assert_eq!(reason.lines().count(), 1, "one line: {reason}");
    assert!(
        reason.starts_with(&format!(
            "peerlab healthcheck: http://127.0.0.1:{port}/healthz is unreachable: "
        )),
        "{reason}"
    );
}
