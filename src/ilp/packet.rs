//! ILPv4 Prepare, Fulfill and Reject in canonical OER (RFC 0027, asn1/InterledgerPacket.asn).
//!
//! Fields are private so that a packet which exists always encodes to something every peer can
//! read: destinations are valid addresses, data and messages respect their size limits.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::address::{Address, AddressError, MAX_ADDRESS_LENGTH};
use super::error_code::{ErrorCode, InvalidErrorCode};
use super::oer::{self, OerError, Reader};
use super::timestamp::{TIMESTAMP_LENGTH, Timestamp, TimestampError};

/// Largest `data` field of any packet (`OCTET STRING (SIZE (0..32767))`).
pub const MAX_DATA_LENGTH: usize = 32_767;
/// Largest Reject `message` in bytes (`UTF8String (SIZE (0..8191))`).
pub const MAX_MESSAGE_LENGTH: usize = 8_191;
/// Largest canonical Prepare on the wire: a 1023-byte destination and 32767 bytes of data.
/// A body longer than this cannot be a Prepare, so servers may refuse it before reading it whole.
pub const MAX_PREPARE_LENGTH: usize = {
    let contents = 8 + TIMESTAMP_LENGTH + 32 + (3 + MAX_ADDRESS_LENGTH) + (3 + MAX_DATA_LENGTH);
    1 + 3 + contents
};

/// The type byte in front of every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    Prepare = 12,
    Fulfill = 13,
    Reject = 14,
}

impl PacketType {
    /// The packet type a type byte names, if any.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            12 => Some(Self::Prepare),
            13 => Some(Self::Fulfill),
            14 => Some(Self::Reject),
            _ => None,
        }
    }
}

/// Why bytes are not the packet asked for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("packet is empty")]
    Empty,
    #[error("unknown packet type {0}")]
    UnknownType(u8),
    #[error("expected a {expected:?} packet, found {found:?}")]
    WrongType {
        expected: PacketType,
        found: PacketType,
    },
    #[error("malformed OER: {0}")]
    Oer(#[from] OerError),
    #[error("invalid expiresAt: {0}")]
    ExpiresAt(#[from] TimestampError),
    #[error("invalid destination: {0}")]
    Destination(AddressError),
    #[error("invalid triggeredBy: {0}")]
    TriggeredBy(AddressError),
    #[error("invalid error code: {0}")]
    ErrorCode(#[from] InvalidErrorCode),
    #[error("data is {0} bytes; at most 32767 are allowed")]
    DataTooLong(usize),
    #[error("message is {0} bytes; at most 8191 are allowed")]
    MessageTooLong(usize),
    #[error("message is not valid UTF-8")]
    MessageNotUtf8,
}

/// Why fields cannot form a packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    #[error("data is {0} bytes; at most 32767 are allowed")]
    DataTooLong(usize),
    #[error("message is {0} bytes; at most 8191 are allowed")]
    MessageTooLong(usize),
}

fn check_data(data: &[u8]) -> Result<(), BuildError> {
    if data.len() > MAX_DATA_LENGTH {
        return Err(BuildError::DataTooLong(data.len()));
    }
    Ok(())
}

/// Any of the three packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Prepare(Prepare),
    Fulfill(Fulfill),
    Reject(Reject),
}

/// The reply to a Prepare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Fulfill(Fulfill),
    Reject(Reject),
}

impl Packet {
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (kind, contents) = open_envelope(bytes)?;
        Ok(match kind {
            PacketType::Prepare => Packet::Prepare(Prepare::decode_contents(contents)?),
            PacketType::Fulfill => Packet::Fulfill(Fulfill::decode_contents(contents)?),
            PacketType::Reject => Packet::Reject(Reject::decode_contents(contents)?),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Packet::Prepare(p) => p.encode(),
            Packet::Fulfill(f) => f.encode(),
            Packet::Reject(r) => r.encode(),
        }
    }
}

impl Reply {
    /// Decodes a Fulfill or a Reject; a Prepare is a [`DecodeError::WrongType`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match Packet::decode(bytes)? {
            Packet::Fulfill(f) => Ok(Reply::Fulfill(f)),
            Packet::Reject(r) => Ok(Reply::Reject(r)),
            Packet::Prepare(_) => Err(DecodeError::WrongType {
                expected: PacketType::Fulfill,
                found: PacketType::Prepare,
            }),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Fulfill(f) => f.encode(),
            Reply::Reject(r) => r.encode(),
        }
    }
}

/// Splits a packet into its type and contents. Bytes after the envelope are ignored
/// (RFC 0030 §Extensibility), as the JS and Rust reference parsers do.
fn open_envelope(bytes: &[u8]) -> Result<(PacketType, &[u8]), DecodeError> {
    let mut reader = Reader::new(bytes);
    let type_byte = reader.read_u8().map_err(|_| DecodeError::Empty)?;
    let kind = PacketType::from_byte(type_byte).ok_or(DecodeError::UnknownType(type_byte))?;
    Ok((kind, reader.read_var_octets()?))
}

fn expect_envelope(bytes: &[u8], expected: PacketType) -> Result<&[u8], DecodeError> {
    let (found, contents) = open_envelope(bytes)?;
    if found != expected {
        return Err(DecodeError::WrongType { expected, found });
    }
    Ok(contents)
}

fn read_data(reader: &mut Reader<'_>) -> Result<Bytes, DecodeError> {
    let data = reader.read_var_octets()?;
    if data.len() > MAX_DATA_LENGTH {
        return Err(DecodeError::DataTooLong(data.len()));
    }
    Ok(Bytes::copy_from_slice(data))
}

fn write_envelope(kind: PacketType, contents_len: usize, out: &mut Vec<u8>) {
    out.reserve(1 + oer::var_octets_size(contents_len));
    out.push(kind as u8);
    oer::write_length(out, contents_len);
}

// === impl Prepare ===

/// An ILP Prepare: a conditional offer of `amount` to `destination`, valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepare {
    amount: u64,
    expires_at: Timestamp,
    execution_condition: [u8; 32],
    destination: Address,
    data: Bytes,
}

impl Prepare {
    pub fn new(
        destination: Address,
        amount: u64,
        expires_at: Timestamp,
        execution_condition: [u8; 32],
        data: impl Into<Bytes>,
    ) -> Result<Self, BuildError> {
        let data = data.into();
        check_data(&data)?;
        Ok(Self {
            amount,
            expires_at,
            execution_condition,
            destination,
            data,
        })
    }

    pub fn amount(&self) -> u64 {
        self.amount
    }

    /// Connectors rewrite the amount for the next hop.
    pub fn set_amount(&mut self, amount: u64) {
        self.amount = amount;
    }

    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// Connectors move the expiry earlier for the next hop.
    pub fn set_expires_at(&mut self, expires_at: Timestamp) {
        self.expires_at = expires_at;
    }

    pub fn execution_condition(&self) -> &[u8; 32] {
        &self.execution_condition
    }

    pub fn destination(&self) -> &Address {
        &self.destination
    }

    pub fn data(&self) -> &Bytes {
        &self.data
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_contents(expect_envelope(bytes, PacketType::Prepare)?)
    }

    fn decode_contents(contents: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(contents);
        let amount = reader.read_u64()?;
        let expires_at = Timestamp::decode(&reader.read_array::<TIMESTAMP_LENGTH>()?)?;
        let execution_condition = reader.read_array::<32>()?;
        let destination =
            Address::from_bytes(reader.read_var_octets()?).map_err(DecodeError::Destination)?;
        let data = read_data(&mut reader)?;
        Ok(Self {
            amount,
            expires_at,
            execution_condition,
            destination,
            data,
        })
    }

    fn contents_len(&self) -> usize {
        8 + TIMESTAMP_LENGTH
            + 32
            + oer::var_octets_size(self.destination.as_bytes().len())
            + oer::var_octets_size(self.data.len())
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let contents_len = self.contents_len();
        write_envelope(PacketType::Prepare, contents_len, out);
        out.reserve(contents_len);
        out.extend_from_slice(&self.amount.to_be_bytes());
        out.extend_from_slice(&self.expires_at.encode());
        out.extend_from_slice(&self.execution_condition);
        oer::write_var_octets(out, self.destination.as_bytes());
        oer::write_var_octets(out, &self.data);
    }
}

// === impl Fulfill ===

/// An ILP Fulfill: the preimage of the Prepare's condition, and end-to-end data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fulfill {
    fulfillment: [u8; 32],
    data: Bytes,
}

impl Fulfill {
    pub fn new(fulfillment: [u8; 32], data: impl Into<Bytes>) -> Result<Self, BuildError> {
        let data = data.into();
        check_data(&data)?;
        Ok(Self { fulfillment, data })
    }

    pub fn fulfillment(&self) -> &[u8; 32] {
        &self.fulfillment
    }

    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// True when SHA-256 of the fulfillment equals `condition`: the check every connector makes
    /// before it passes a Fulfill back and lets money move.
    pub fn matches(&self, condition: &[u8; 32]) -> bool {
        Sha256::digest(self.fulfillment).as_slice() == condition
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_contents(expect_envelope(bytes, PacketType::Fulfill)?)
    }

    fn decode_contents(contents: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(contents);
        let fulfillment = reader.read_array::<32>()?;
        let data = read_data(&mut reader)?;
        Ok(Self { fulfillment, data })
    }

    pub fn encode(&self) -> Vec<u8> {
        let contents_len = 32 + oer::var_octets_size(self.data.len());
        let mut out = Vec::with_capacity(1 + oer::var_octets_size(contents_len));
        write_envelope(PacketType::Fulfill, contents_len, &mut out);
        out.extend_from_slice(&self.fulfillment);
        oer::write_var_octets(&mut out, &self.data);
        out
    }
}

/// SHA-256 of a fulfillment: the condition a Prepare must carry for it.
pub fn condition_for(fulfillment: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(fulfillment).into()
}

// === impl Reject ===

/// An ILP Reject: why a Prepare failed, and who said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    code: ErrorCode,
    /// `None` for the empty `triggeredBy` some implementations send; peerlab always sets it.
    triggered_by: Option<Address>,
    message: String,
    data: Bytes,
}

impl Reject {
    pub fn new(
        code: ErrorCode,
        triggered_by: Option<Address>,
        message: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Result<Self, BuildError> {
        let message = message.into();
        if message.len() > MAX_MESSAGE_LENGTH {
            return Err(BuildError::MessageTooLong(message.len()));
        }
        let data = data.into();
        check_data(&data)?;
        Ok(Self {
            code,
            triggered_by,
            message,
            data,
        })
    }

    /// A Reject whose message is cut (at a character boundary) to fit the limit, for messages built
    /// from runtime text; data longer than the limit is dropped rather than sent.
    pub fn truncated(
        code: ErrorCode,
        triggered_by: Option<Address>,
        message: &str,
        data: impl Into<Bytes>,
    ) -> Self {
        let mut end = message.len().min(MAX_MESSAGE_LENGTH);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let data = data.into();
        let data = if data.len() > MAX_DATA_LENGTH {
            Bytes::new()
        } else {
            data
        };
        Self {
            code,
            triggered_by,
            message: message[..end].to_owned(),
            data,
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn triggered_by(&self) -> Option<&Address> {
        self.triggered_by.as_ref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn data(&self) -> &Bytes {
        &self.data
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_contents(expect_envelope(bytes, PacketType::Reject)?)
    }

    fn decode_contents(contents: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(contents);
        let code = ErrorCode::from_bytes(reader.read_array::<3>()?)?;
        let triggered_by = match reader.read_var_octets()? {
            [] => None,
            bytes => Some(Address::from_bytes(bytes).map_err(DecodeError::TriggeredBy)?),
        };
        let message = reader.read_var_octets()?;
        if message.len() > MAX_MESSAGE_LENGTH {
            return Err(DecodeError::MessageTooLong(message.len()));
        }
        let message = std::str::from_utf8(message)
            .map_err(|_| DecodeError::MessageNotUtf8)?
            .to_owned();
        let data = read_data(&mut reader)?;
        Ok(Self {
            code,
            triggered_by,
            message,
            data,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let triggered_by = self
            .triggered_by
            .as_ref()
            .map_or(&[][..], Address::as_bytes);
        let contents_len = 3
            + oer::var_octets_size(triggered_by.len())
            + oer::var_octets_size(self.message.len())
            + oer::var_octets_size(self.data.len());
        let mut out = Vec::with_capacity(1 + oer::var_octets_size(contents_len));
        write_envelope(PacketType::Reject, contents_len, &mut out);
        out.extend_from_slice(&self.code.bytes());
        oer::write_var_octets(&mut out, triggered_by);
        oer::write_var_octets(&mut out, self.message.as_bytes());
        oer::write_var_octets(&mut out, &self.data);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepare(data_len: usize) -> Prepare {
        Prepare::new(
            Address::parse("example.alice").unwrap(),
            107,
            Timestamp::from_unix_millis(1_514_132_072_279).unwrap(),
            [7; 32],
            vec![1u8; data_len],
        )
        .unwrap()
    }

    #[test]
    fn max_prepare_length_is_the_largest_valid_prepare() {
        let destination = format!("g.{}", "a".repeat(MAX_ADDRESS_LENGTH - 2));
        let largest = Prepare::new(
            Address::parse(&destination).unwrap(),
            u64::MAX,
            Timestamp::now(),
            [0; 32],
            vec![0u8; MAX_DATA_LENGTH],
        )
        .unwrap();
        assert_eq!(largest.encode().len(), MAX_PREPARE_LENGTH);
    }

    #[test]
    fn constructors_enforce_size_limits() {
        assert_eq!(
            Fulfill::new([0; 32], vec![0u8; MAX_DATA_LENGTH + 1]),
            Err(BuildError::DataTooLong(MAX_DATA_LENGTH + 1))
        );
        assert_eq!(
            Reject::new(
                ErrorCode::T00InternalError,
                None,
                "x".repeat(MAX_MESSAGE_LENGTH + 1),
                Bytes::new()
            ),
            Err(BuildError::MessageTooLong(MAX_MESSAGE_LENGTH + 1))
        );
        let cut = Reject::truncated(
            ErrorCode::T00InternalError,
            None,
            &"é".repeat(MAX_MESSAGE_LENGTH),
            vec![0u8; MAX_DATA_LENGTH + 1],
        );
        assert!(cut.message().len() <= MAX_MESSAGE_LENGTH);
        assert!(cut.data().is_empty());
    }

    #[test]
    fn decoding_checks_the_packet_type() {
        let bytes = prepare(0).encode();
        assert_eq!(
            Fulfill::decode(&bytes),
            Err(DecodeError::WrongType {
                expected: PacketType::Fulfill,
                found: PacketType::Prepare
            })
        );
        assert!(matches!(
            Reply::decode(&bytes),
            Err(DecodeError::WrongType { .. })
        ));
        assert_eq!(Packet::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(Packet::decode(&[9, 0]), Err(DecodeError::UnknownType(9)));
    }

    #[test]
    fn long_data_uses_long_form_lengths_and_round_trips() {
        let original = prepare(100);
        let bytes = original.encode();
        assert_eq!(&bytes[..2], &[0x0c, 0x81]);
        assert_eq!(Prepare::decode(&bytes), Ok(original));
    }

    #[test]
    fn every_truncation_of_a_packet_is_an_error() {
        let bytes = prepare(40).encode();
        for end in 0..bytes.len() {
            assert!(Packet::decode(&bytes[..end]).is_err(), "prefix {end}");
        }
    }

    #[test]
    fn fulfillment_is_checked_against_the_condition() {
        let preimage = [42u8; 32];
        let fulfill = Fulfill::new(preimage, Bytes::new()).unwrap();
        assert!(fulfill.matches(&condition_for(&preimage)));
        assert!(!fulfill.matches(&[0; 32]));
    }

    #[test]
    fn reject_messages_must_be_utf8() {
        let mut bytes = Reject::new(
            ErrorCode::F02Unreachable,
            Address::parse("g.c").ok(),
            "ab",
            Bytes::new(),
        )
        .unwrap()
        .encode();
        let message_at = bytes.len() - 3;
        bytes[message_at] = 0xff;
        assert_eq!(Reject::decode(&bytes), Err(DecodeError::MessageNotUtf8));
    }
}
