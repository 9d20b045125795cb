//! Every vector under `fixtures/packets/` decodes to the fields it lists and re-encodes to the
//! same bytes. Fields a test does not know are an error, so a fixture cannot be half-checked.

use std::path::{Path, PathBuf};

use peerlab::ilp::oer::Reader;
use peerlab::ilp::{
    Address, AmountTooLargeData, Fulfill, IldcpResponse, Packet, Prepare, Reject, is_ildcp_request,
};
use serde::Deserialize;
use toml::Table;

#[derive(Debug, Deserialize)]
struct Vector {
    kind: String,
    hex: String,
    expect: Table,
}

fn vectors() -> Vec<(PathBuf, Vector)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/packets");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/packets exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable fixture");
            let vector =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, vector)
        })
        .collect()
}

/// Takes the expected fields one by one, and at the end insists none was left unchecked.
struct Expect<'a> {
    name: &'a str,
    fields: Table,
}

impl Expect<'_> {
    fn str(&mut self, key: &str) -> String {
        match self.fields.remove(key) {
            Some(toml::Value::String(s)) => s,
            other => panic!(
                "{}: expected string field {key}, found {other:?}",
                self.name
            ),
        }
    }

    fn bytes(&mut self, key: &str) -> Vec<u8> {
        hex::decode(self.str(key)).unwrap_or_else(|e| panic!("{}: {key}: {e}", self.name))
    }

    fn u64(&mut self, key: &str) -> u64 {
        self.str(key).parse().expect("decimal u64")
    }

    fn optional(&mut self, key: &str) -> Option<toml::Value> {
        self.fields.remove(key)
    }

    fn done(self) {
        assert!(
            self.fields.is_empty(),
            "{}: fields not checked: {:?}",
            self.name,
            self.fields.keys().collect::<Vec<_>>()
        );
    }
}

fn check_prepare(prepare: &Prepare, expect: &mut Expect<'_>) {
    assert_eq!(prepare.amount(), expect.u64("amount"));
    assert_eq!(prepare.expires_at().to_string(), expect.str("expires_at"));
    assert_eq!(
        prepare.execution_condition().as_slice(),
        expect.bytes("execution_condition")
    );
    assert_eq!(prepare.destination().as_str(), expect.str("destination"));
    assert_eq!(prepare.data().as_ref(), expect.bytes("data"));
    let is_ildcp = expect.optional("ildcp_request") == Some(toml::Value::Boolean(true));
    assert_eq!(is_ildcp_request(prepare), is_ildcp, "{}", expect.name);
}

fn check_fulfill(fulfill: &Fulfill, expect: &mut Expect<'_>) {
    assert_eq!(
        fulfill.fulfillment().as_slice(),
        expect.bytes("fulfillment")
    );
    assert_eq!(fulfill.data().as_ref(), expect.bytes("data"));
    if let Some(toml::Value::String(client)) = expect.optional("client_address") {
        let response = IldcpResponse::from_fulfill(fulfill).expect("IL-DCP response");
        assert_eq!(response.client_address().as_str(), client);
        let scale = expect.optional("asset_scale").and_then(|v| v.as_integer());
        assert_eq!(Some(i64::from(response.asset_scale())), scale);
        assert_eq!(response.asset_code(), expect.str("asset_code"));
        assert_eq!(response.to_fulfill(), *fulfill);
    }
}

fn check_reject(reject: &Reject, expect: &mut Expect<'_>) {
    assert_eq!(reject.code().to_string(), expect.str("code"));
    let triggered_by = reject.triggered_by().map(Address::as_str).unwrap_or("");
    assert_eq!(triggered_by, expect.str("triggered_by"));
    assert_eq!(reject.message(), expect.str("message"));
    assert_eq!(reject.data().as_ref(), expect.bytes("data"));
    if expect.fields.contains_key("received_amount") {
        let f08 = AmountTooLargeData::decode(reject.data()).expect("F08 data");
        assert_eq!(f08.received_amount, expect.u64("received_amount"));
        assert_eq!(f08.maximum_amount, expect.u64("maximum_amount"));
    }
}

#[test]
fn every_fixture_decodes_to_its_fields_and_reencodes_to_its_bytes() {
    let all = vectors();
    assert!(
        all.len() >= 16,
        "expected the 16 vectors of ilp.md §1.7 and §4"
    );
    for (path, vector) in all {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let bytes = hex::decode(&vector.hex).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut expect = Expect {
            name,
            fields: vector.expect,
        };
        let reencoded = match vector.kind.as_str() {
            "address" => {
                let mut reader = Reader::new(&bytes);
                let raw = reader.read_var_octets().expect("var octets");
                assert!(reader.remaining().is_empty(), "{name}: trailing bytes");
                let address = Address::from_bytes(raw).expect("valid address");
                assert_eq!(address.as_str(), expect.str("address"));
                let mut out = Vec::new();
                peerlab::ilp::oer::write_var_octets(&mut out, address.as_bytes());
                out
            }
            kind => {
                let packet = Packet::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
                match (&packet, kind) {
                    (Packet::Prepare(p), "prepare") => check_prepare(p, &mut expect),
                    (Packet::Fulfill(f), "fulfill") => check_fulfill(f, &mut expect),
                    (Packet::Reject(r), "reject") => check_reject(r, &mut expect),
                    _ => panic!("{name}: decoded {packet:?}, fixture says {kind}"),
                }
                packet.encode()
            }
        };
        expect.done();
        assert_eq!(
            hex::encode(reencoded),
            vector.hex,
            "{name}: re-encoding differs"
        );
    }
}
