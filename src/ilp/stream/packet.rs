//! The STREAM packet (RFC 0029 §5.2, asn1/Stream.asn `StreamPacket`): the plaintext inside the
//! encrypted ILP data of every Prepare, Fulfill and Reject of a STREAM connection.
//!
//! ```text
//! version        UInt8 = 1
//! ilpPacketType  UInt8 = 12 | 13 | 14
//! sequence       VarUInt
//! prepareAmount  VarUInt
//! frames         VarUInt count, then that many frames
//! junk           anything after the frames: ignored (the RFC: MUST be ignored; JS pads with zeros)
//! ```
//!
//! Decoding is total: any byte string gives a packet or a [`StreamDecodeError`], never a panic,
//! and nothing is allocated in proportion to a count the input claims (frames are collected as
//! they are read, and a count larger than the bytes left could hold is refused up front).

use thiserror::Error;

use super::crypto::{DecryptError, ENCRYPTION_OVERHEAD, SharedSecret};
use super::frame::Frame;
use crate::ilp::oer::{self, OerError, Reader};
use crate::ilp::{MAX_DATA_LENGTH, PacketType};

/// The only STREAM version there is.
pub const STREAM_VERSION: u8 = 1;

/// Largest plaintext whose encryption still fits in an ILP data field (32767 - 28).
pub const MAX_PLAINTEXT_LENGTH: usize = MAX_DATA_LENGTH - ENCRYPTION_OVERHEAD;

/// The smallest a frame can be on the wire: a type byte and an empty length prefix.
const MIN_FRAME_LENGTH: usize = 2;

/// Why plaintext bytes are not a STREAM packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamDecodeError {
    #[error("malformed STREAM packet: {0}")]
    Oer(#[from] OerError),
    #[error("unsupported STREAM version {0}")]
    UnsupportedVersion(u8),
    #[error("STREAM packet names ILP packet type {0}, not 12, 13 or 14")]
    UnknownIlpPacketType(u8),
    #[error("STREAM packet claims {count} frames but only {remaining} bytes follow")]
    TooManyFrames { count: u64, remaining: usize },
    #[error("malformed frame of type {frame_type}: {error}")]
    Frame { frame_type: u8, error: OerError },
}

/// Why an encrypted ILP data field did not yield a STREAM packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamPacketError {
    /// Not sealed with this shared secret, or changed on the way: RFC 0029 answers F06.
    #[error("cannot decrypt STREAM data: {0}")]
    Decrypt(#[from] DecryptError),
    /// Authentic, but not a STREAM packet this implementation can read.
    #[error("cannot decode STREAM packet: {0}")]
    Decode(#[from] StreamDecodeError),
}

/// A STREAM packet. Frames of unknown types were dropped when it was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPacket {
    /// The sender's packet counter; a reply echoes the sequence of the Prepare it answers.
    pub sequence: u64,
    /// The type of the ILP packet that carries this one. A receiver discards a packet whose type
    /// differs from its carrier's.
    pub ilp_packet_type: PacketType,
    /// On a Prepare: the least the receiver should accept. On a Fulfill or Reject: the amount
    /// that arrived.
    pub prepare_amount: u64,
    pub frames: Vec<Frame>,
}

impl StreamPacket {
    /// Decodes a plaintext STREAM packet.
    pub fn decode(bytes: &[u8]) -> Result<Self, StreamDecodeError> {
        let mut reader = Reader::new(bytes);
        let version = reader.read_u8()?;
        if version != STREAM_VERSION {
            return Err(StreamDecodeError::UnsupportedVersion(version));
        }
        let type_byte = reader.read_u8()?;
        let ilp_packet_type = PacketType::from_byte(type_byte)
            .ok_or(StreamDecodeError::UnknownIlpPacketType(type_byte))?;
        let sequence = reader.read_var_uint()?;
        let prepare_amount = reader.read_var_uint()?;
        let count = reader.read_var_uint()?;
        let remaining = reader.remaining().len();
        if count > (remaining / MIN_FRAME_LENGTH) as u64 {
            return Err(StreamDecodeError::TooManyFrames { count, remaining });
        }
        let mut frames = Vec::new();
        for _ in 0..count {
            let frame_type = reader.read_u8()?;
            let contents = reader.read_var_octets()?;
            let frame = Frame::decode_contents(frame_type, contents)
                .map_err(|error| StreamDecodeError::Frame { frame_type, error })?;
            frames.extend(frame);
        }
        // Whatever follows the frames is junk the RFC says to ignore.
        Ok(Self {
            sequence,
            ilp_packet_type,
            prepare_amount,
            frames,
        })
    }

    /// Bytes of the plaintext encoding.
    pub fn encoded_len(&self) -> usize {
        2 + oer::var_uint_size(self.sequence)
            + oer::var_uint_size(self.prepare_amount)
            + oer::var_uint_size(self.frames.len() as u64)
            + self.frames.iter().map(Frame::encoded_len).sum::<usize>()
    }

    /// The canonical plaintext encoding, without junk.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(STREAM_VERSION);
        out.push(self.ilp_packet_type as u8);
        oer::write_var_uint(&mut out, self.sequence);
        oer::write_var_uint(&mut out, self.prepare_amount);
        oer::write_var_uint(&mut out, self.frames.len() as u64);
        for frame in &self.frames {
            frame.encode_into(&mut out);
        }
        out
    }

    /// Encodes and seals the packet with a fresh nonce: the ILP data field to send. It fits an
    /// ILP packet when [`encoded_len`](Self::encoded_len) is at most [`MAX_PLAINTEXT_LENGTH`];
    /// the ILP packet constructors refuse anything longer.
    pub fn encrypt(&self, shared_secret: &SharedSecret) -> Vec<u8> {
        shared_secret.encrypt(&self.encode())
    }

    /// Opens and decodes an ILP data field sealed under `shared_secret`.
    pub fn decrypt(shared_secret: &SharedSecret, data: &[u8]) -> Result<Self, StreamPacketError> {
        let plaintext = shared_secret.decrypt(data)?;
        Ok(Self::decode(&plaintext)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilp::stream::StreamErrorCode;

    fn packet(frames: Vec<Frame>) -> StreamPacket {
        StreamPacket {
            sequence: 7,
            ilp_packet_type: PacketType::Prepare,
            prepare_amount: 495,
            frames,
        }
    }

    fn sample() -> StreamPacket {
        packet(vec![
            Frame::StreamMoney {
                stream_id: 1,
                shares: 1000,
            },
            Frame::ConnectionClose {
                code: StreamErrorCode::NoError,
                message: "done".into(),
            },
        ])
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().encode();
        assert_eq!(StreamPacket::decode(&bytes), Ok(sample()));
        for end in 0..bytes.len() {
            assert!(StreamPacket::decode(&bytes[..end]).is_err(), "prefix {end}");
        }
    }

    #[test]
    fn junk_after_the_frames_is_ignored() {
        let mut bytes = sample().encode();
        bytes.extend_from_slice(&[0; 40]);
        bytes.extend_from_slice(b"junk");
        assert_eq!(StreamPacket::decode(&bytes), Ok(sample()));
    }

    #[test]
    fn unknown_frames_are_dropped_and_the_rest_kept() {
        // 2 frames: an unknown type 0x42 with 3 content bytes, then StreamMoney(1, 5).
        let bytes = [
            0x01, 0x0c, 0x01, 0x00, 0x01, 0x00, 0x01, 0x02, 0x42, 0x03, 0xaa, 0xbb, 0xcc, 0x11,
            0x04, 0x01, 0x01, 0x01, 0x05,
        ];
        let decoded = StreamPacket::decode(&bytes).unwrap();
        assert_eq!(
            decoded.frames,
            vec![Frame::StreamMoney {
                stream_id: 1,
                shares: 5
            }]
        );
    }

    #[test]
    fn a_frame_count_beyond_the_bytes_left_is_refused_before_reading() {
        // Claims u64::MAX frames with 4 bytes left.
        let mut bytes = vec![0x01, 0x0c, 0x01, 0x00, 0x01, 0x00];
        bytes.extend_from_slice(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        bytes.extend_from_slice(&[0x11, 0x02, 0x01, 0x01]);
        assert_eq!(
            StreamPacket::decode(&bytes),
            Err(StreamDecodeError::TooManyFrames {
                count: u64::MAX,
                remaining: 4
            })
        );
        // Two frames would fit in the 4 bytes left, but only one (of an unknown type) is there.
        let short = [
            0x01, 0x0c, 0x01, 0x00, 0x01, 0x00, 0x01, 0x02, 0x42, 0x02, 0xaa, 0xbb,
        ];
        assert_eq!(
            StreamPacket::decode(&short),
            Err(StreamDecodeError::Oer(OerError::UnexpectedEnd {
                needed: 1,
                available: 0
            }))
        );
    }

    #[test]
    fn a_frame_whose_length_overruns_the_packet_is_an_error() {
        // One StreamMoney frame claiming 100 content bytes, with 4 present.
        let bytes = [
            0x01, 0x0c, 0x01, 0x00, 0x01, 0x00, 0x01, 0x01, 0x11, 0x64, 0x01, 0x01, 0x01, 0x05,
        ];
        assert!(matches!(
            StreamPacket::decode(&bytes),
            Err(StreamDecodeError::Oer(OerError::UnexpectedEnd { .. }))
        ));
    }

    #[test]
    fn a_malformed_known_frame_names_its_type() {
        // StreamMoney whose shares VarUInt is empty.
        let bytes = [
            0x01, 0x0c, 0x01, 0x00, 0x01, 0x00, 0x01, 0x01, 0x11, 0x03, 0x01, 0x01, 0x00,
        ];
        assert_eq!(
            StreamPacket::decode(&bytes),
            Err(StreamDecodeError::Frame {
                frame_type: 0x11,
                error: OerError::EmptyVarUInt
            })
        );
    }

    #[test]
    fn version_and_ilp_packet_type_are_checked() {
        let mut bytes = sample().encode();
        bytes[0] = 2;
        assert_eq!(
            StreamPacket::decode(&bytes),
            Err(StreamDecodeError::UnsupportedVersion(2))
        );
        bytes[0] = 1;
        bytes[1] = 15;
        assert_eq!(
            StreamPacket::decode(&bytes),
            Err(StreamDecodeError::UnknownIlpPacketType(15))
        );
        assert_eq!(
            StreamPacket::decode(&[]),
            Err(StreamDecodeError::Oer(OerError::UnexpectedEnd {
                needed: 1,
                available: 0
            }))
        );
    }

    #[test]
    fn sequence_or_amount_above_u64_is_an_error() {
        let two_to_the_64 = [0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut bytes = vec![0x01, 0x0c];
        bytes.extend_from_slice(&two_to_the_64);
        bytes.extend_from_slice(&[0x01, 0x00, 0x01, 0x00]);
        assert_eq!(
            StreamPacket::decode(&bytes),
            Err(StreamDecodeError::Oer(OerError::VarUIntTooLarge))
        );
    }

    #[test]
    fn encrypted_packets_open_only_with_their_secret_and_untampered() {
        let secret = SharedSecret::new([5; 32]);
        let sealed = sample().encrypt(&secret);
        assert_eq!(sealed.len(), ENCRYPTION_OVERHEAD + sample().encoded_len());
        assert_eq!(StreamPacket::decrypt(&secret, &sealed), Ok(sample()));

        let wrong = SharedSecret::new([6; 32]);
        assert_eq!(
            StreamPacket::decrypt(&wrong, &sealed),
            Err(StreamPacketError::Decrypt(DecryptError::Unauthentic))
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        assert_eq!(
            StreamPacket::decrypt(&secret, &tampered),
            Err(StreamPacketError::Decrypt(DecryptError::Unauthentic))
        );
        assert_eq!(
            StreamPacket::decrypt(&secret, &sealed[..10]),
            Err(StreamPacketError::Decrypt(DecryptError::TooShort(10)))
        );
    }

    #[test]
    fn authentic_garbage_is_a_decode_error() {
        let secret = SharedSecret::new([5; 32]);
        let sealed = secret.encrypt(b"\x02 not stream");
        assert_eq!(
            StreamPacket::decrypt(&secret, &sealed),
            Err(StreamPacketError::Decode(
                StreamDecodeError::UnsupportedVersion(2)
            ))
        );
    }

    #[test]
    fn the_largest_plaintext_fits_an_ilp_data_field() {
        let secret = SharedSecret::new([5; 32]);
        let mut big = packet(vec![Frame::StreamData {
            stream_id: 1,
            offset: 0,
            data: Vec::new(),
        }]);
        let fixed = big.encoded_len();
        // The data's length prefix grows by 2 bytes once the data reaches 128 bytes.
        big.frames = vec![Frame::StreamData {
            stream_id: 1,
            offset: 0,
            data: vec![0; MAX_PLAINTEXT_LENGTH - fixed - 4],
        }];
        assert_eq!(big.encoded_len(), MAX_PLAINTEXT_LENGTH);
        assert_eq!(big.encrypt(&secret).len(), MAX_DATA_LENGTH);
    }
}
