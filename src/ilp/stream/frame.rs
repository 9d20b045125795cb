//! STREAM frames (RFC 0029 §5.3, asn1/Stream.asn): what a STREAM packet says, one frame at a time.
//!
//! On the wire a frame is `type (UInt8) || var-octet-string(contents)`. Decoding follows
//! interledgerjs, the implementation peers run:
//! - unknown frame types are skipped (the RFC: they MUST be ignored);
//! - bytes after a known frame's fields, inside its contents, are ignored (RFC 0030 extensibility);
//! - text fields are UTF-8 decoded lossily, as JS `Buffer.toString('utf8')` does, so a bad byte in
//!   a close message does not make the whole packet unreadable;
//! - `StreamMaxMoney.receive_max` and `StreamMoneyBlocked.send_max` saturate at `u64::MAX` when
//!   the sender writes a larger number (JS writes "infinity" that way; RFC 0029 §5.1.4 allows the
//!   clamp). Every other VarUInt above `u64::MAX` is an error: a stream id, offset or share count
//!   that large is a malformed frame, and clamping it would change its meaning.

use crate::ilp::oer::{self, OerError, Reader};

/// The reason code of a ConnectionClose or StreamClose frame (RFC 0029 §5.3 "Error Codes").
/// Codes the RFC does not define are kept as they are, so they re-encode unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamErrorCode {
    NoError,
    InternalError,
    EndpointBusy,
    FlowControlError,
    StreamIdError,
    StreamStateError,
    FrameFormatError,
    ProtocolViolation,
    ApplicationError,
    /// A code outside 0x01..=0x09. Build it with [`StreamErrorCode::from_byte`], so that a
    /// defined code is never wrapped here.
    Other(u8),
}

impl StreamErrorCode {
    pub fn from_byte(byte: u8) -> Self {
        match byte {
            0x01 => Self::NoError,
            0x02 => Self::InternalError,
            0x03 => Self::EndpointBusy,
            0x04 => Self::FlowControlError,
            0x05 => Self::StreamIdError,
            0x06 => Self::StreamStateError,
            0x07 => Self::FrameFormatError,
            0x08 => Self::ProtocolViolation,
            0x09 => Self::ApplicationError,
            other => Self::Other(other),
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Self::NoError => 0x01,
            Self::InternalError => 0x02,
            Self::EndpointBusy => 0x03,
            Self::FlowControlError => 0x04,
            Self::StreamIdError => 0x05,
            Self::StreamStateError => 0x06,
            Self::FrameFormatError => 0x07,
            Self::ProtocolViolation => 0x08,
            Self::ApplicationError => 0x09,
            Self::Other(byte) => byte,
        }
    }
}

// Frame type bytes (RFC 0029 §5.3; JS `FrameType`).
const CONNECTION_CLOSE: u8 = 0x01;
const CONNECTION_NEW_ADDRESS: u8 = 0x02;
const CONNECTION_MAX_DATA: u8 = 0x03;
const CONNECTION_DATA_BLOCKED: u8 = 0x04;
const CONNECTION_MAX_STREAM_ID: u8 = 0x05;
const CONNECTION_STREAM_ID_BLOCKED: u8 = 0x06;
const CONNECTION_ASSET_DETAILS: u8 = 0x07;
const STREAM_CLOSE: u8 = 0x10;
const STREAM_MONEY: u8 = 0x11;
const STREAM_MAX_MONEY: u8 = 0x12;
const STREAM_MONEY_BLOCKED: u8 = 0x13;
const STREAM_DATA: u8 = 0x14;
const STREAM_MAX_DATA: u8 = 0x15;
const STREAM_DATA_BLOCKED: u8 = 0x16;
const STREAM_RECEIPT: u8 = 0x17;

/// One STREAM frame. Amounts, offsets and ids are the RFC's VarUInts, held as `u64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The sender closes the whole connection.
    ConnectionClose {
        code: StreamErrorCode,
        message: String,
    },
    /// The address the sender can be reached at. Kept as text, not as an [`Address`]: the
    /// `@interledger/pay` sender (Rafiki's) sends an empty one to ask only for asset details.
    ///
    /// [`Address`]: crate::ilp::Address
    ConnectionNewAddress { source_account: String },
    /// The most connection-level data the sender will accept, as an offset.
    ConnectionMaxData { max_offset: u64 },
    /// The sender wants to send data beyond the receiver's connection limit.
    ConnectionDataBlocked { max_offset: u64 },
    /// The highest stream id the sender allows its peer to open.
    ConnectionMaxStreamId { max_stream_id: u64 },
    /// The sender wants to open streams beyond the peer's limit.
    ConnectionStreamIdBlocked { max_stream_id: u64 },
    /// The sender's asset, for exchange-rate and amount display.
    ConnectionAssetDetails {
        source_asset_code: String,
        source_asset_scale: u8,
    },
    /// The sender closes one stream.
    StreamClose {
        stream_id: u64,
        code: StreamErrorCode,
        message: String,
    },
    /// This stream's share of the Prepare amount (shares split the amount in proportion).
    StreamMoney { stream_id: u64, shares: u64 },
    /// How much the stream may receive in total; `u64::MAX` stands for "unlimited".
    StreamMaxMoney {
        stream_id: u64,
        receive_max: u64,
        total_received: u64,
    },
    /// The sender wants to send more than the stream's receive limit.
    StreamMoneyBlocked {
        stream_id: u64,
        send_max: u64,
        total_sent: u64,
    },
    /// Stream bytes at `offset`.
    StreamData {
        stream_id: u64,
        offset: u64,
        data: Vec<u8>,
    },
    /// The most stream data the sender will accept, as an offset.
    StreamMaxData { stream_id: u64, max_offset: u64 },
    /// The sender wants to send stream data beyond the receiver's limit.
    StreamDataBlocked { stream_id: u64, max_offset: u64 },
    /// A STREAM receipt (RFC 0039, deprecated but still sent by JS receivers).
    StreamReceipt { stream_id: u64, receipt: Vec<u8> },
}

impl Frame {
    /// The type byte this frame is sent with.
    pub fn type_byte(&self) -> u8 {
        match self {
            Frame::ConnectionClose { .. } => CONNECTION_CLOSE,
            Frame::ConnectionNewAddress { .. } => CONNECTION_NEW_ADDRESS,
            Frame::ConnectionMaxData { .. } => CONNECTION_MAX_DATA,
            Frame::ConnectionDataBlocked { .. } => CONNECTION_DATA_BLOCKED,
            Frame::ConnectionMaxStreamId { .. } => CONNECTION_MAX_STREAM_ID,
            Frame::ConnectionStreamIdBlocked { .. } => CONNECTION_STREAM_ID_BLOCKED,
            Frame::ConnectionAssetDetails { .. } => CONNECTION_ASSET_DETAILS,
            Frame::StreamClose { .. } => STREAM_CLOSE,
            Frame::StreamMoney { .. } => STREAM_MONEY,
            Frame::StreamMaxMoney { .. } => STREAM_MAX_MONEY,
            Frame::StreamMoneyBlocked { .. } => STREAM_MONEY_BLOCKED,
            Frame::StreamData { .. } => STREAM_DATA,
            Frame::StreamMaxData { .. } => STREAM_MAX_DATA,
            Frame::StreamDataBlocked { .. } => STREAM_DATA_BLOCKED,
            Frame::StreamReceipt { .. } => STREAM_RECEIPT,
        }
    }

    /// Decodes the contents of a frame of type `frame_type`: `Ok(None)` for a type this
    /// implementation does not know, which the caller skips.
    pub(super) fn decode_contents(
        frame_type: u8,
        contents: &[u8],
    ) -> Result<Option<Self>, OerError> {
        let mut r = Reader::new(contents);
        let frame = match frame_type {
            CONNECTION_CLOSE => Frame::ConnectionClose {
                code: StreamErrorCode::from_byte(r.read_u8()?),
                message: read_text(&mut r)?,
            },
            CONNECTION_NEW_ADDRESS => Frame::ConnectionNewAddress {
                source_account: read_text(&mut r)?,
            },
            CONNECTION_MAX_DATA => Frame::ConnectionMaxData {
                max_offset: r.read_var_uint()?,
            },
            CONNECTION_DATA_BLOCKED => Frame::ConnectionDataBlocked {
                max_offset: r.read_var_uint()?,
            },
            CONNECTION_MAX_STREAM_ID => Frame::ConnectionMaxStreamId {
                max_stream_id: r.read_var_uint()?,
            },
            CONNECTION_STREAM_ID_BLOCKED => Frame::ConnectionStreamIdBlocked {
                max_stream_id: r.read_var_uint()?,
            },
            CONNECTION_ASSET_DETAILS => Frame::ConnectionAssetDetails {
                source_asset_code: read_text(&mut r)?,
                source_asset_scale: r.read_u8()?,
            },
            STREAM_CLOSE => Frame::StreamClose {
                stream_id: r.read_var_uint()?,
                code: StreamErrorCode::from_byte(r.read_u8()?),
                message: read_text(&mut r)?,
            },
            STREAM_MONEY => Frame::StreamMoney {
                stream_id: r.read_var_uint()?,
                shares: r.read_var_uint()?,
            },
            STREAM_MAX_MONEY => Frame::StreamMaxMoney {
                stream_id: r.read_var_uint()?,
                receive_max: r.read_var_uint_saturating()?.unwrap_or(u64::MAX),
                total_received: r.read_var_uint()?,
            },
            STREAM_MONEY_BLOCKED => Frame::StreamMoneyBlocked {
                stream_id: r.read_var_uint()?,
                send_max: r.read_var_uint_saturating()?.unwrap_or(u64::MAX),
                total_sent: r.read_var_uint()?,
            },
            STREAM_DATA => Frame::StreamData {
                stream_id: r.read_var_uint()?,
                offset: r.read_var_uint()?,
                data: r.read_var_octets()?.to_vec(),
            },
            STREAM_MAX_DATA => Frame::StreamMaxData {
                stream_id: r.read_var_uint()?,
                max_offset: r.read_var_uint()?,
            },
            STREAM_DATA_BLOCKED => Frame::StreamDataBlocked {
                stream_id: r.read_var_uint()?,
                max_offset: r.read_var_uint()?,
            },
            STREAM_RECEIPT => Frame::StreamReceipt {
                stream_id: r.read_var_uint()?,
                receipt: r.read_var_octets()?.to_vec(),
            },
            _ => return Ok(None),
        };
        Ok(Some(frame))
    }

    /// Bytes of the frame's contents, without its type byte and length prefix.
    fn contents_len(&self) -> usize {
        let uint = oer::var_uint_size;
        let octets = oer::var_octets_size;
        match self {
            Frame::ConnectionClose { message, .. } => 1 + octets(message.len()),
            Frame::ConnectionNewAddress { source_account } => octets(source_account.len()),
            Frame::ConnectionMaxData { max_offset }
            | Frame::ConnectionDataBlocked { max_offset } => uint(*max_offset),
            Frame::ConnectionMaxStreamId { max_stream_id }
            | Frame::ConnectionStreamIdBlocked { max_stream_id } => uint(*max_stream_id),
            Frame::ConnectionAssetDetails {
                source_asset_code, ..
            } => octets(source_asset_code.len()) + 1,
            Frame::StreamClose {
                stream_id, message, ..
            } => uint(*stream_id) + 1 + octets(message.len()),
            Frame::StreamMoney { stream_id, shares } => uint(*stream_id) + uint(*shares),
            Frame::StreamMaxMoney {
                stream_id,
                receive_max: limit,
                total_received: total,
            }
            | Frame::StreamMoneyBlocked {
                stream_id,
                send_max: limit,
                total_sent: total,
            } => uint(*stream_id) + uint(*limit) + uint(*total),
            Frame::StreamData {
                stream_id,
                offset,
                data,
            } => uint(*stream_id) + uint(*offset) + octets(data.len()),
            Frame::StreamMaxData {
                stream_id,
                max_offset,
            }
            | Frame::StreamDataBlocked {
                stream_id,
                max_offset,
            } => uint(*stream_id) + uint(*max_offset),
            Frame::StreamReceipt { stream_id, receipt } => uint(*stream_id) + octets(receipt.len()),
        }
    }

    /// Bytes of the whole frame on the wire.
    pub(super) fn encoded_len(&self) -> usize {
        1 + oer::var_octets_size(self.contents_len())
    }

    /// Appends the frame: type byte, length prefix, contents.
    pub(super) fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.type_byte());
        oer::write_length(out, self.contents_len());
        let w = &mut *out;
        match self {
            Frame::ConnectionClose { code, message } => {
                w.push(code.byte());
                oer::write_var_octets(w, message.as_bytes());
            }
            Frame::ConnectionNewAddress { source_account } => {
                oer::write_var_octets(w, source_account.as_bytes());
            }
            Frame::ConnectionMaxData { max_offset }
            | Frame::ConnectionDataBlocked { max_offset } => {
                oer::write_var_uint(w, *max_offset);
            }
            Frame::ConnectionMaxStreamId { max_stream_id }
            | Frame::ConnectionStreamIdBlocked { max_stream_id } => {
                oer::write_var_uint(w, *max_stream_id);
            }
            Frame::ConnectionAssetDetails {
                source_asset_code,
                source_asset_scale,
            } => {
                oer::write_var_octets(w, source_asset_code.as_bytes());
                w.push(*source_asset_scale);
            }
            Frame::StreamClose {
                stream_id,
                code,
                message,
            } => {
                oer::write_var_uint(w, *stream_id);
                w.push(code.byte());
                oer::write_var_octets(w, message.as_bytes());
            }
            Frame::StreamMoney { stream_id, shares } => {
                oer::write_var_uint(w, *stream_id);
                oer::write_var_uint(w, *shares);
            }
            Frame::StreamMaxMoney {
                stream_id,
                receive_max: limit,
                total_received: total,
            }
            | Frame::StreamMoneyBlocked {
                stream_id,
                send_max: limit,
                total_sent: total,
            } => {
                oer::write_var_uint(w, *stream_id);
                oer::write_var_uint(w, *limit);
                oer::write_var_uint(w, *total);
            }
            Frame::StreamData {
                stream_id,
                offset,
                data,
            } => {
                oer::write_var_uint(w, *stream_id);
                oer::write_var_uint(w, *offset);
                oer::write_var_octets(w, data);
            }
            Frame::StreamMaxData {
                stream_id,
                max_offset,
            }
            | Frame::StreamDataBlocked {
                stream_id,
                max_offset,
            } => {
                oer::write_var_uint(w, *stream_id);
                oer::write_var_uint(w, *max_offset);
            }
            Frame::StreamReceipt { stream_id, receipt } => {
                oer::write_var_uint(w, *stream_id);
                oer::write_var_octets(w, receipt);
            }
        }
    }
}

/// A UTF8String field, decoded lossily as JS does (see the module notes).
fn read_text(reader: &mut Reader<'_>) -> Result<String, OerError> {
    Ok(String::from_utf8_lossy(reader.read_var_octets()?).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defined_error_codes_round_trip_and_others_are_kept() {
        for byte in 0..=u8::MAX {
            assert_eq!(StreamErrorCode::from_byte(byte).byte(), byte);
        }
        assert_eq!(StreamErrorCode::from_byte(1), StreamErrorCode::NoError);
        assert_eq!(
            StreamErrorCode::from_byte(9),
            StreamErrorCode::ApplicationError
        );
        assert_eq!(StreamErrorCode::from_byte(0), StreamErrorCode::Other(0));
        assert_eq!(StreamErrorCode::from_byte(255), StreamErrorCode::Other(255));
    }

    #[test]
    fn unknown_frame_types_are_skipped_not_errors() {
        for frame_type in [0x00, 0x08, 0x0f, 0x18, 0xff] {
            assert_eq!(Frame::decode_contents(frame_type, &[1, 2, 3]), Ok(None));
        }
    }

    #[test]
    fn bytes_after_a_frames_fields_are_ignored() {
        assert_eq!(
            Frame::decode_contents(STREAM_MONEY, &[0x01, 0x01, 0x01, 0x05, 0xde, 0xad]),
            Ok(Some(Frame::StreamMoney {
                stream_id: 1,
                shares: 5
            }))
        );
    }

    #[test]
    fn limits_above_u64_saturate_but_ids_and_totals_do_not() {
        let two_to_the_64 = [0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut contents = vec![0x01, 0x01];
        contents.extend_from_slice(&two_to_the_64);
        contents.extend_from_slice(&[0x01, 0x00]);
        for frame_type in [STREAM_MAX_MONEY, STREAM_MONEY_BLOCKED] {
            let frame = Frame::decode_contents(frame_type, &contents)
                .unwrap()
                .unwrap();
            let (Frame::StreamMaxMoney {
                receive_max: limit, ..
            }
            | Frame::StreamMoneyBlocked {
                send_max: limit, ..
            }) = frame
            else {
                panic!("decoded {frame:?}");
            };
            assert_eq!(limit, u64::MAX);
        }
        // The same oversized number as a stream id or share count is a malformed frame.
        let mut oversized_id = two_to_the_64.to_vec();
        oversized_id.extend_from_slice(&[0x01, 0x00]);
        assert_eq!(
            Frame::decode_contents(STREAM_MONEY, &oversized_id),
            Err(OerError::VarUIntTooLarge)
        );
        let mut oversized_total = vec![0x01, 0x01, 0x01, 0x00];
        oversized_total.extend_from_slice(&two_to_the_64);
        assert_eq!(
            Frame::decode_contents(STREAM_MAX_MONEY, &oversized_total),
            Err(OerError::VarUIntTooLarge)
        );
    }

    #[test]
    fn an_empty_source_account_is_accepted() {
        // `@interledger/pay` asks for asset details this way.
        assert_eq!(
            Frame::decode_contents(CONNECTION_NEW_ADDRESS, &[0x00]),
            Ok(Some(Frame::ConnectionNewAddress {
                source_account: String::new()
            }))
        );
    }

    #[test]
    fn invalid_utf8_in_text_is_replaced_not_fatal() {
        assert_eq!(
            Frame::decode_contents(CONNECTION_CLOSE, &[0x02, 0x02, b'o', 0xff]),
            Ok(Some(Frame::ConnectionClose {
                code: StreamErrorCode::InternalError,
                message: "o\u{fffd}".to_owned()
            }))
        );
    }

    #[test]
    fn every_truncation_of_a_known_frame_is_an_error() {
        let frames = [
            Frame::ConnectionClose {
                code: StreamErrorCode::NoError,
                message: "bye".into(),
            },
            Frame::ConnectionAssetDetails {
                source_asset_code: "USD".into(),
                source_asset_scale: 2,
            },
            Frame::StreamClose {
                stream_id: 1,
                code: StreamErrorCode::ApplicationError,
                message: "x".into(),
            },
            Frame::StreamMaxMoney {
                stream_id: 1,
                receive_max: 300,
                total_received: 70_000,
            },
            Frame::StreamData {
                stream_id: 1,
                offset: 9,
                data: b"abc".to_vec(),
            },
            Frame::StreamReceipt {
                stream_id: 1,
                receipt: vec![7; 58],
            },
        ];
        for frame in frames {
            let mut bytes = Vec::new();
            frame.encode_into(&mut bytes);
            assert_eq!(bytes.len(), frame.encoded_len());
            let contents = &bytes[2..];
            assert_eq!(
                Frame::decode_contents(frame.type_byte(), contents),
                Ok(Some(frame.clone()))
            );
            for end in 0..contents.len() {
                assert!(
                    Frame::decode_contents(frame.type_byte(), &contents[..end]).is_err(),
                    "{frame:?} cut at {end}"
                );
            }
        }
    }
}
