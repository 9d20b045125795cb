//! Property tests of the STREAM codec and crypto: generated packets and frames round-trip, sealed
//! packets open only with their secret, and arbitrary or mutated bytes never panic, whether they
//! reach the decrypter, the plaintext decoder or the connection-token parser.

use peerlab::ilp::stream::{
    ConnectionDetails, DecryptError, Frame, ServerSecret, SharedSecret, StreamErrorCode,
    StreamPacket, StreamPacketError, TokenError,
};
use peerlab::ilp::{Address, PacketType};
use proptest::prelude::*;

use crate::proptest_cases;

/// Integers biased to the VarUInt length boundaries and the extremes.
fn uint() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        (0u32..64).prop_map(|k| (1u64 << k) - 1),
        (0u32..64).prop_map(|k| 1u64 << k),
        any::<u64>(),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        // Across the one-byte/long-form length boundary.
        prop::collection::vec(any::<u8>(), 120..300),
    ]
}

fn text() -> impl Strategy<Value = String> {
    ".{0,40}"
}

fn code() -> impl Strategy<Value = StreamErrorCode> {
    any::<u8>().prop_map(StreamErrorCode::from_byte)
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (code(), text()).prop_map(|(code, message)| Frame::ConnectionClose { code, message }),
        text().prop_map(|source_account| Frame::ConnectionNewAddress { source_account }),
        uint().prop_map(|max_offset| Frame::ConnectionMaxData { max_offset }),
        uint().prop_map(|max_offset| Frame::ConnectionDataBlocked { max_offset }),
        uint().prop_map(|max_stream_id| Frame::ConnectionMaxStreamId { max_stream_id }),
        uint().prop_map(|max_stream_id| Frame::ConnectionStreamIdBlocked { max_stream_id }),
        (text(), any::<u8>()).prop_map(|(source_asset_code, source_asset_scale)| {
            Frame::ConnectionAssetDetails {
                source_asset_code,
                source_asset_scale,
            }
        }),
        (uint(), code(), text()).prop_map(|(stream_id, code, message)| Frame::StreamClose {
            stream_id,
            code,
            message
        }),
        (uint(), uint()).prop_map(|(stream_id, shares)| Frame::StreamMoney { stream_id, shares }),
        (uint(), uint(), uint()).prop_map(|(stream_id, receive_max, total_received)| {
            Frame::StreamMaxMoney {
                stream_id,
                receive_max,
                total_received,
            }
        }),
        (uint(), uint(), uint()).prop_map(|(stream_id, send_max, total_sent)| {
            Frame::StreamMoneyBlocked {
                stream_id,
                send_max,
                total_sent,
            }
        }),
        (uint(), uint(), bytes()).prop_map(|(stream_id, offset, data)| Frame::StreamData {
            stream_id,
            offset,
            data
        }),
        (uint(), uint()).prop_map(|(stream_id, max_offset)| Frame::StreamMaxData {
            stream_id,
            max_offset
        }),
        (uint(), uint()).prop_map(|(stream_id, max_offset)| Frame::StreamDataBlocked {
            stream_id,
            max_offset
        }),
        (uint(), bytes())
            .prop_map(|(stream_id, receipt)| Frame::StreamReceipt { stream_id, receipt }),
    ]
}

fn packet() -> impl Strategy<Value = StreamPacket> {
    let kind = prop::sample::select(vec![
        PacketType::Prepare,
        PacketType::Fulfill,
        PacketType::Reject,
    ]);
    (uint(), kind, uint(), prop::collection::vec(frame(), 0..8)).prop_map(
        |(sequence, ilp_packet_type, prepare_amount, frames)| StreamPacket {
            sequence,
            ilp_packet_type,
            prepare_amount,
            frames,
        },
    )
}

fn secret() -> impl Strategy<Value = SharedSecret> {
    any::<[u8; 32]>().prop_map(SharedSecret::new)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(1_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn packets_round_trip(packet in packet()) {
        let bytes = packet.encode();
        prop_assert_eq!(bytes.len(), packet.encoded_len());
        prop_assert_eq!(StreamPacket::decode(&bytes), Ok(packet));
    }

    #[test]
    fn each_frame_round_trips_alone(frame in frame()) {
        let packet = StreamPacket {
            sequence: 1,
            ilp_packet_type: PacketType::Prepare,
            prepare_amount: 0,
            frames: vec![frame],
        };
        prop_assert_eq!(StreamPacket::decode(&packet.encode()), Ok(packet));
    }

    #[test]
    fn junk_after_a_packet_is_ignored(
        packet in packet(),
        junk in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = packet.encode();
        bytes.extend(junk);
        prop_assert_eq!(StreamPacket::decode(&bytes), Ok(packet));
    }

    #[test]
    fn every_strict_prefix_of_a_packet_is_an_error(
        packet in packet(),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = packet.encode();
        let end = cut.index(bytes.len());
        prop_assert!(StreamPacket::decode(&bytes[..end]).is_err());
    }

    #[test]
    fn arbitrary_plaintext_never_panics_and_what_decodes_is_canonical(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        if let Ok(decoded) = StreamPacket::decode(&bytes) {
            prop_assert_eq!(StreamPacket::decode(&decoded.encode()), Ok(decoded));
        }
    }

    /// A valid header followed by garbage reaches the frame parser, which bare random bytes rarely
    /// do.
    #[test]
    fn garbage_frames_never_panic(
        kind in 12u8..=14,
        count in prop::collection::vec(any::<u8>(), 1..=9),
        rest in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = vec![1, kind, 0x01, 0x00, 0x01, 0x00, count.len() as u8];
        bytes.extend(count);
        bytes.extend(rest);
        if let Ok(decoded) = StreamPacket::decode(&bytes) {
            prop_assert!(decoded.frames.len() * 2 <= bytes.len());
            prop_assert_eq!(StreamPacket::decode(&decoded.encode()), Ok(decoded));
        }
    }

    #[test]
    fn mutated_packets_never_panic_and_stay_canonical(
        packet in packet(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = packet.encode();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(decoded) = StreamPacket::decode(&bytes) {
            prop_assert_eq!(StreamPacket::decode(&decoded.encode()), Ok(decoded));
        }
    }


    #[test]
    fn sealed_packets_open_with_their_secret_only(
        packet in packet(),
        secret in secret(),
        other in secret(),
    ) {
        let sealed = packet.encrypt(&secret);
        prop_assert_eq!(StreamPacket::decrypt(&secret, &sealed), Ok(packet));
        prop_assume!(other != secret);
        prop_assert_eq!(
            StreamPacket::decrypt(&other, &sealed),
            Err(StreamPacketError::Decrypt(DecryptError::Unauthentic))
        );
    }

    #[test]
    fn tampered_ciphertext_never_opens(
        packet in packet(),
        secret in secret(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut sealed = packet.encrypt(&secret);
        let i = at.index(sealed.len());
        sealed[i] ^= flip;
        prop_assert_eq!(
            StreamPacket::decrypt(&secret, &sealed),
            Err(StreamPacketError::Decrypt(DecryptError::Unauthentic))
        );
    }

    /// What a receiver does with the data of any Prepare: random bytes are an error (F06), never
    /// a panic, at every length including those shorter than the nonce and tag.
    #[test]
    fn random_bytes_never_decrypt(
        secret in secret(),
        data in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let result = StreamPacket::decrypt(&secret, &data);
        prop_assert!(
            matches!(
                result,
                Err(StreamPacketError::Decrypt(
                    DecryptError::TooShort(_) | DecryptError::Unauthentic
                ))
            ),
            "{:?}",
            result
        );
    }

    /// Destinations under a receiver, with any token-like segment, are refused without a panic.
    #[test]
    fn random_token_segments_are_refused(
        server in any::<[u8; 32]>().prop_map(ServerSecret::new),
        segment in "[A-Za-z0-9_~-]{1,120}",
    ) {
        let receiver = Address::parse("test.peerlab.receiver").expect("address");
        let destination = receiver.with_suffix(&segment).expect("valid segment");
        let result = server.connection_for(&receiver, &destination);
        prop_assert!(
            matches!(result, Err(TokenError::NotBase64 | TokenError::NotOurs(_))),
            "{:?}",
            result
        );
    }

    #[test]
    fn generated_credentials_are_recognised(
        server in any::<[u8; 32]>().prop_map(ServerSecret::new),
        connection_tag in prop::collection::vec(any::<u8>(), 0..=256),
    ) {
        let receiver = Address::parse("test.peerlab.receiver").expect("address");
        let details = ConnectionDetails { connection_tag, receipt: None };
        let credentials = server.generate_credentials(&details).expect("tag within limit");
        let destination = receiver
            .with_suffix(&credentials.address_suffix)
            .expect("the suffix is a valid address segment");
        let incoming = server.connection_for(&receiver, &destination).expect("ours");
        prop_assert_eq!(incoming.shared_secret, credentials.shared_secret);
        prop_assert_eq!(incoming.details, details);
    }
}
