//! The STREAM vectors under `fixtures/stream/`: RFC and JS packets decode to their fields and
//! re-encode to their bytes, the crypto vectors are reproduced exactly, and JS-generated receiving
//! addresses are recognised. Fields a test does not read are an error, so a vector cannot be
//! half-checked.

use std::path::Path;

use peerlab::ilp::stream::crypto::{self, encryption_key, fulfillment_key};
use peerlab::ilp::stream::{
    ConnectionDetails, Frame, ReceiptSecrets, ServerSecret, SharedSecret, StreamErrorCode,
    StreamPacket,
};
use peerlab::ilp::{Address, Fulfill, Packet, PacketType, Prepare, condition_for};
use toml::Table;

fn load(file: &str) -> Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/stream")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The entries of one array of tables, each with its name taken out.
fn entries(table: &mut Table, key: &str) -> Vec<Fields> {
    let Some(toml::Value::Array(items)) = table.remove(key) else {
        panic!("no [[{key}]] entries");
    };
    items
        .into_iter()
        .map(|item| {
            let toml::Value::Table(fields) = item else {
                panic!("[[{key}]] entry is not a table");
            };
            let mut fields = Fields {
                name: String::new(),
                fields,
            };
            fields.name = fields.str("name");
            fields
        })
        .collect()
}

/// Takes fields one by one, and at the end insists none was left unchecked.
struct Fields {
    name: String,
    fields: Table,
}

impl Fields {
    fn take(&mut self, key: &str) -> toml::Value {
        self.fields
            .remove(key)
            .unwrap_or_else(|| panic!("{}: missing field {key}", self.name))
    }

    fn str(&mut self, key: &str) -> String {
        match self.take(key) {
            toml::Value::String(s) => s,
            other => panic!("{}: {key} is {other:?}, not a string", self.name),
        }
    }

    fn hex(&mut self, key: &str) -> Vec<u8> {
        let text = self.str(key);
        hex::decode(&text).unwrap_or_else(|e| panic!("{}: {key}: {e}", self.name))
    }

    fn hex32(&mut self, key: &str) -> [u8; 32] {
        let bytes = self.hex(key);
        bytes
            .try_into()
            .unwrap_or_else(|_| panic!("{}: {key} is not 32 bytes", self.name))
    }

    fn u64(&mut self, key: &str) -> u64 {
        let text = self.str(key);
        text.parse()
            .unwrap_or_else(|e| panic!("{}: {key}: {e}", self.name))
    }

    fn u8(&mut self, key: &str) -> u8 {
        match self.take(key) {
            toml::Value::Integer(i) => {
                u8::try_from(i).unwrap_or_else(|_| panic!("{}: {key} is not a byte", self.name))
            }
            other => panic!("{}: {key} is {other:?}, not an integer", self.name),
        }
    }

    fn optional_hex(&mut self, key: &str) -> Option<Vec<u8>> {
        self.fields.contains_key(key).then(|| self.hex(key))
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

/// Builds the frame a fixture describes, field by field, independently of the decoder.
fn expected_frame(fields: &mut Fields) -> Frame {
    let kind = fields.str("frame");
    match kind.as_str() {
        "ConnectionClose" => Frame::ConnectionClose {
            code: StreamErrorCode::from_byte(fields.u8("code")),
            message: fields.str("message"),
        },
        "ConnectionNewAddress" => Frame::ConnectionNewAddress {
            source_account: fields.str("source_account"),
        },
        "ConnectionAssetDetails" => Frame::ConnectionAssetDetails {
            source_asset_code: fields.str("source_asset_code"),
            source_asset_scale: fields.u8("source_asset_scale"),
        },
        "ConnectionMaxData" => Frame::ConnectionMaxData {
            max_offset: fields.u64("max_offset"),
        },
        "ConnectionDataBlocked" => Frame::ConnectionDataBlocked {
            max_offset: fields.u64("max_offset"),
        },
        "ConnectionMaxStreamId" => Frame::ConnectionMaxStreamId {
            max_stream_id: fields.u64("max_stream_id"),
        },
        "ConnectionStreamIdBlocked" => Frame::ConnectionStreamIdBlocked {
            max_stream_id: fields.u64("max_stream_id"),
        },
        "StreamClose" => Frame::StreamClose {
            stream_id: fields.u64("stream_id"),
            code: StreamErrorCode::from_byte(fields.u8("code")),
            message: fields.str("message"),
        },
        "StreamMoney" => Frame::StreamMoney {
            stream_id: fields.u64("stream_id"),
            shares: fields.u64("shares"),
        },
        "StreamMaxMoney" => Frame::StreamMaxMoney {
            stream_id: fields.u64("stream_id"),
            receive_max: fields.u64("receive_max"),
            total_received: fields.u64("total_received"),
        },
        "StreamMoneyBlocked" => Frame::StreamMoneyBlocked {
            stream_id: fields.u64("stream_id"),
            send_max: fields.u64("send_max"),
            total_sent: fields.u64("total_sent"),
        },
        "StreamData" => Frame::StreamData {
            stream_id: fields.u64("stream_id"),
            offset: fields.u64("offset"),
            data: fields.hex("data"),
        },
        "StreamMaxData" => Frame::StreamMaxData {
            stream_id: fields.u64("stream_id"),
            max_offset: fields.u64("max_offset"),
        },
        "StreamDataBlocked" => Frame::StreamDataBlocked {
            stream_id: fields.u64("stream_id"),
            max_offset: fields.u64("max_offset"),
        },
        "StreamReceipt" => Frame::StreamReceipt {
            stream_id: fields.u64("stream_id"),
            receipt: fields.hex("receipt"),
        },
        other => panic!("{}: unknown frame {other}", fields.name),
    }
}

fn expected_packet(fields: &mut Fields) -> StreamPacket {
    let ilp_packet_type = fields.u8("ilp_packet_type");
    let toml::Value::Array(frames) = fields.take("frames") else {
        panic!("{}: frames is not an array", fields.name);
    };
    let frames = frames
        .into_iter()
        .map(|frame| {
            let toml::Value::Table(frame) = frame else {
                panic!("{}: a frame is not a table", fields.name);
            };
            let mut frame = Fields {
                name: format!("{} frame", fields.name),
                fields: frame,
            };
            let decoded = expected_frame(&mut frame);
            frame.done();
            decoded
        })
        .collect();
    StreamPacket {
        sequence: fields.u64("sequence"),
        ilp_packet_type: PacketType::from_byte(ilp_packet_type).expect("12, 13 or 14"),
        prepare_amount: fields.u64("prepare_amount"),
        frames,
    }
}

#[test]
fn stream_packets_decode_to_their_fields_and_reencode_to_their_bytes() {
    let mut file = load("packets.toml");
    let packets = entries(&mut file, "packet");
    assert_eq!(
        packets.len(),
        55,
        "the 53 RFC fixtures and the plaintexts of C and D"
    );
    let mut frame_types_seen = std::collections::BTreeSet::new();
    for mut fields in packets {
        let bytes = fields.hex("hex");
        let expected = expected_packet(&mut fields);
        let decoded =
            StreamPacket::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", fields.name));
        assert_eq!(decoded, expected, "{}", fields.name);
        let canonical = fields.optional_hex("canonical_hex").unwrap_or(bytes);
        assert_eq!(
            hex::encode(expected.encode()),
            hex::encode(&canonical),
            "{}: encoding",
            fields.name
        );
        assert_eq!(expected.encoded_len(), canonical.len(), "{}", fields.name);
        frame_types_seen.extend(decoded.frames.iter().map(Frame::type_byte));
        fields.done();
    }
    let all_types: Vec<u8> = (0x01..=0x07).chain(0x10..=0x17).collect();
    assert_eq!(
        frame_types_seen.into_iter().collect::<Vec<_>>(),
        all_types,
        "every frame type has a vector"
    );
}

#[test]
fn key_derivations_fulfillments_and_conditions_match_the_vectors() {
    let mut file = load("crypto.toml");
    for mut fields in entries(&mut file, "keys") {
        let secret = fields.str("shared_secret_utf8");
        assert_eq!(
            encryption_key(secret.as_bytes()),
            fields.hex32("encryption_key")
        );
        assert_eq!(
            fulfillment_key(secret.as_bytes()),
            fields.hex32("fulfillment_key")
        );
        fields.done();
    }
    for mut fields in entries(&mut file, "fulfillment") {
        let key = fields.hex32("fulfillment_key");
        let data = fields.str("data_utf8");
        assert_eq!(
            crypto::fulfillment(&key, data.as_bytes()),
            fields.hex32("fulfillment")
        );
        fields.done();
    }
    for mut fields in entries(&mut file, "condition") {
        let fulfillment = fields.hex32("fulfillment");
        assert_eq!(condition_for(&fulfillment), fields.hex32("condition"));
        fields.done();
    }
    for mut fields in entries(&mut file, "decrypt") {
        let key = fields.hex32("encryption_key");
        let data = fields.hex("data");
        let plaintext = crypto::decrypt(&key, &data).expect("authentic");
        assert_eq!(plaintext, fields.str("plaintext_utf8").as_bytes());
        fields.done();
    }
    for mut fields in entries(&mut file, "envelope") {
        let secret = SharedSecret::new(fields.hex32("shared_secret"));
        assert_eq!(secret.encryption_key(), fields.hex32("encryption_key"));
        let nonce: [u8; 12] = fields.hex("nonce").try_into().expect("12-byte nonce");
        let plaintext = fields.hex("plaintext");
        let data = fields.hex("data");
        assert_eq!(
            hex::encode(secret.encrypt_with_nonce(nonce, &plaintext)),
            hex::encode(&data),
            "{}: sealing",
            fields.name
        );
        assert_eq!(secret.decrypt(&data), Ok(plaintext), "{}", fields.name);
        assert_eq!(secret.fulfillment(&data), fields.hex32("fulfillment"));
        assert_eq!(secret.condition(&data), fields.hex32("condition"));
        fields.done();
    }
    for mut fields in entries(&mut file, "shared_secret_from_token") {
        let server = ServerSecret::new(fields.hex32("server_secret"));
        let token = fields.str("token_utf8");
        assert_eq!(
            server.shared_secret_for(token.as_bytes()),
            SharedSecret::new(fields.hex32("shared_secret"))
        );
        fields.done();
    }
    let mut prepares = 0;
    for mut fields in entries(&mut file, "prepare") {
        let bytes = fields.hex("prepare");
        let prepare = Prepare::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", fields.name));
        assert_eq!(prepare.encode(), bytes, "{}: ILP re-encoding", fields.name);
        assert_eq!(prepare.amount(), fields.u64("amount"));
        assert_eq!(prepare.destination().as_str(), fields.str("destination"));
        let secret = SharedSecret::new(fields.hex32("shared_secret"));
        let stream = StreamPacket::decrypt(&secret, prepare.data()).expect("opens");
        assert_eq!(
            hex::encode(stream.encode()),
            hex::encode(fields.hex("stream_packet"))
        );
        assert_eq!(stream.ilp_packet_type, PacketType::Prepare);
        let fulfillment = secret.fulfillment(prepare.data());
        assert_eq!(fulfillment, fields.hex32("fulfillment"), "{}", fields.name);
        assert_eq!(
            &condition_for(&fulfillment),
            prepare.execution_condition(),
            "{}: fulfillable",
            fields.name
        );
        if let Some(expected) = fields.optional_hex("fulfill") {
            let fulfill = Fulfill::new(fulfillment, Vec::new()).expect("valid");
            assert_eq!(hex::encode(fulfill.encode()), hex::encode(expected));
        }
        prepares += 1;
        fields.done();
    }
    assert_eq!(prepares, 2);
    assert!(
        file.is_empty(),
        "unread tables: {:?}",
        file.keys().collect::<Vec<_>>()
    );
}

/// Addresses, secrets and Prepares the JS receiver generated and accepted: peerlab's receiver
/// derivation must recognise every one of them.
#[test]
fn js_receiving_addresses_are_recognised_and_their_prepares_fulfilled() {
    let mut file = load("js_receiver.toml");
    let Some(toml::Value::String(receiver)) = file.remove("receiver") else {
        panic!("js_receiver.toml: no receiver");
    };
    let receiver = Address::parse(&receiver).expect("receiver address");
    let connections = entries(&mut file, "connection");
    assert_eq!(connections.len(), 3);
    for mut fields in connections {
        let server = ServerSecret::new(fields.hex32("server_secret"));
        let destination = Address::parse(&fields.str("destination")).expect("address");
        let connection = server
            .connection_for(&receiver, &destination)
            .unwrap_or_else(|e| panic!("{}: {e}", fields.name));
        let shared_secret = SharedSecret::new(fields.hex32("shared_secret"));
        assert_eq!(connection.shared_secret, shared_secret, "{}", fields.name);
        let receipt_nonce = fields.hex("receipt_nonce");
        let receipt_secret = fields.hex("receipt_secret");
        let receipt = (!receipt_nonce.is_empty()).then(|| ReceiptSecrets {
            nonce: receipt_nonce.try_into().expect("16 bytes"),
            secret: receipt_secret.try_into().expect("32 bytes"),
        });
        assert_eq!(
            connection.details,
            ConnectionDetails {
                connection_tag: fields.str("connection_tag").into_bytes(),
                receipt,
            },
            "{}",
            fields.name
        );

        let Packet::Prepare(prepare) = Packet::decode(&fields.hex("prepare")).expect("prepare")
        else {
            panic!("{}: not a Prepare", fields.name);
        };
        assert_eq!(prepare.destination(), &destination);
        let stream = StreamPacket::decrypt(&shared_secret, prepare.data()).expect("opens");
        assert_eq!(
            hex::encode(stream.encode()),
            hex::encode(fields.hex("stream_packet"))
        );
        let fulfillment = shared_secret.fulfillment(prepare.data());
        assert_eq!(fulfillment, fields.hex32("fulfillment"), "{}", fields.name);
        assert_eq!(&condition_for(&fulfillment), prepare.execution_condition());
        fields.done();
    }
    assert!(
        file.is_empty(),
        "unread keys: {:?}",
        file.keys().collect::<Vec<_>>()
    );
}
