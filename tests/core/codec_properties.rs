//! Property tests of the codec: generated packets round-trip; arbitrary and mutated bytes never
//! panic and never decode to something that re-encodes differently from a canonical packet.

use peerlab::ilp::{
    Address, ErrorCode, Fulfill, MAX_DATA_LENGTH, Packet, Prepare, Reject, Timestamp,
};
use proptest::prelude::*;

use crate::proptest_cases;

fn address() -> impl Strategy<Value = Address> {
    let scheme = prop::sample::select(vec!["g", "test", "test3", "example", "peer", "private"]);
    let segment = "[A-Za-z0-9_~-]{1,20}";
    (scheme, prop::collection::vec(segment, 1..6)).prop_map(|(scheme, segments)| {
        Address::parse(&format!("{scheme}.{}", segments.join("."))).expect("generated address")
    })
}

/// Amounts biased to the edges, as TigerBeetle's fuzzers do.
fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        (0u32..64).prop_map(|k| (1u64 << k) - 1),
        any::<u64>(),
    ]
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (-62_167_219_200_000i64..=253_402_300_799_999)
        .prop_map(|ms| Timestamp::from_unix_millis(ms).expect("in range"))
}

/// Data lengths around the one-byte/long-form boundary and up to the limit.
fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(any::<u8>(), MAX_DATA_LENGTH - 2..=MAX_DATA_LENGTH),
    ]
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        prop::sample::select(ErrorCode::ALL.to_vec()),
        prop::array::uniform3(0u8..0x80).prop_map(|b| ErrorCode::from_bytes(b).expect("ascii")),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (address(), amount(), timestamp(), any::<[u8; 32]>(), data()).prop_map(
            |(destination, amount, expires_at, condition, data)| {
                Packet::Prepare(
                    Prepare::new(destination, amount, expires_at, condition, data)
                        .expect("valid prepare"),
                )
            }
        ),
        (any::<[u8; 32]>(), data()).prop_map(|(fulfillment, data)| {
            Packet::Fulfill(Fulfill::new(fulfillment, data).expect("valid fulfill"))
        }),
        (
            error_code(),
            prop::option::of(address()),
            ".{0,200}",
            data()
        )
            .prop_map(|(code, triggered_by, message, data)| {
                Packet::Reject(
                    Reject::new(code, triggered_by, message, data).expect("valid reject"),
                )
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(1_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_packets_round_trip(packet in packet()) {
        let bytes = packet.encode();
        prop_assert_eq!(Packet::decode(&bytes), Ok(packet.clone()));
        prop_assert_eq!(Packet::decode(&bytes).map(|p| p.encode()), Ok(bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
        let _ = Packet::decode(&bytes);
    }

    #[test]
    fn packet_type_bytes_followed_by_garbage_never_panic(
        kind in 12u8..=14,
        rest in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = vec![kind];
        bytes.extend(rest);
        let _ = Packet::decode(&bytes);
    }

    #[test]
    fn mutated_packets_never_panic_and_stay_canonical(
        packet in packet(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = packet.encode();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        // Whatever still decodes re-encodes to a canonical packet with the same meaning.
        if let Ok(decoded) = Packet::decode(&bytes) {
            let again = decoded.encode();
            prop_assert_eq!(Packet::decode(&again), Ok(decoded));
        }
        let end = cut.index(bytes.len() + 1);
        let _ = Packet::decode(&bytes[..end]);
    }
}
