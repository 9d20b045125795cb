//! ILP error codes (RFC 0027 §Error Codes) and the F08 error data.

use std::fmt;

use thiserror::Error;

/// How a sender should react to a Reject, from the code's first letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// `F`: do not retry unless something changes.
    Final,
    /// `T`: retry, possibly after a short delay.
    Temporary,
    /// `R`: not enough money or time margin; retry with a larger margin.
    Relative,
    /// Any other first letter (peers may send codes outside RFC 0027).
    Unknown,
}

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $name:literal;)*) => {
        /// An ILP error code: the 21 of RFC 0027 by name, and any other 3-character code a peer
        /// sends kept verbatim so that relayed Rejects are not altered.
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $name] $variant,)*
            /// A code outside RFC 0027 (e.g. interledger-rs's `F09`), as its 3 ASCII bytes.
            Other([u8; 3]),
        }

        impl ErrorCode {
            /// Every code RFC 0027 defines.
            pub const ALL: [ErrorCode; 21] = [$(ErrorCode::$variant,)*];

            /// The 3 wire bytes.
            pub fn bytes(self) -> [u8; 3] {
                match self {
                    $(ErrorCode::$variant => *$code,)*
                    ErrorCode::Other(bytes) => bytes,
                }
            }

            /// The RFC name, e.g. "Insufficient Liquidity"; `None` for codes outside RFC 0027.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(ErrorCode::$variant => Some($name),)*
                    ErrorCode::Other(_) => None,
                }
            }

            /// Decodes 3 wire bytes; they must be IA5 (7-bit ASCII).
            pub fn from_bytes(bytes: [u8; 3]) -> Result<Self, InvalidErrorCode> {
                if !bytes.iter().all(u8::is_ascii) {
                    return Err(InvalidErrorCode(bytes));
                }
                Ok(match &bytes {
                    $($code => ErrorCode::$variant,)*
                    _ => ErrorCode::Other(bytes),
                })
            }
        }
    };
}

error_codes! {
    F00BadRequest = b"F00", "Bad Request";
    F01InvalidPacket = b"F01", "Invalid Packet";
    F02Unreachable = b"F02", "Unreachable";
    F03InvalidAmount = b"F03", "Invalid Amount";
    F04InsufficientDestinationAmount = b"F04", "Insufficient Destination Amount";
    F05WrongCondition = b"F05", "Wrong Condition";
    F06UnexpectedPayment = b"F06", "Unexpected Payment";
    F07CannotReceive = b"F07", "Cannot Receive";
    F08AmountTooLarge = b"F08", "Amount Too Large";
    F99ApplicationError = b"F99", "Application Error";
    T00InternalError = b"T00", "Internal Error";
    T01PeerUnreachable = b"T01", "Peer Unreachable";
    T02PeerBusy = b"T02", "Peer Busy";
    T03ConnectorBusy = b"T03", "Connector Busy";
    T04InsufficientLiquidity = b"T04", "Insufficient Liquidity";
    T05RateLimited = b"T05", "Rate Limited";
    T99ApplicationError = b"T99", "Application Error";
    R00TransferTimedOut = b"R00", "Transfer Timed Out";
    R01InsufficientSourceAmount = b"R01", "Insufficient Source Amount";
    R02InsufficientTimeout = b"R02", "Insufficient Timeout";
    R99ApplicationError = b"R99", "Application Error";
}

/// Three bytes that are not an IA5 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("error code bytes {0:02x?} are not ASCII")]
pub struct InvalidErrorCode(pub [u8; 3]);

impl ErrorCode {
    pub fn class(self) -> ErrorClass {
        match self.bytes()[0] {
            b'F' => ErrorClass::Final,
            b'T' => ErrorClass::Temporary,
            b'R' => ErrorClass::Relative,
            _ => ErrorClass::Unknown,
        }
    }

    /// The code as text, e.g. "T04".
    pub fn as_str(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.as_str()),
            None => write!(f, "{}", self.as_str()),
        }
    }
}

/// The data of an F08 Amount Too Large Reject (`AmountTooLargeErrorData`): the amount the
/// connector received and the largest it forwards, in the same units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountTooLargeData {
    pub received_amount: u64,
    pub maximum_amount: u64,
}

impl AmountTooLargeData {
    pub const ENCODED_LENGTH: usize = 16;

    pub fn encode(self) -> [u8; Self::ENCODED_LENGTH] {
        let mut out = [0u8; Self::ENCODED_LENGTH];
        out[..8].copy_from_slice(&self.received_amount.to_be_bytes());
        out[8..].copy_from_slice(&self.maximum_amount.to_be_bytes());
        out
    }

    /// Reads the two amounts; `None` when the data is shorter than 16 bytes (some connectors send
    /// F08 without data). Extra bytes are ignored, as OER extensibility allows.
    pub fn decode(data: &[u8]) -> Option<Self> {
        let received: [u8; 8] = data.get(..8)?.try_into().ok()?;
        let maximum: [u8; 8] = data.get(8..16)?.try_into().ok()?;
        Some(Self {
            received_amount: u64::from_be_bytes(received),
            maximum_amount: u64::from_be_bytes(maximum),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rfc_code_round_trips_with_its_class() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_bytes(code.bytes()), Ok(code));
            let expected = match code.bytes()[0] {
                b'F' => ErrorClass::Final,
                b'T' => ErrorClass::Temporary,
                _ => ErrorClass::Relative,
            };
            assert_eq!(code.class(), expected);
            assert!(code.name().is_some());
        }
        assert_eq!(ErrorCode::T04InsufficientLiquidity.to_string(), "T04");
        assert_eq!(
            ErrorCode::F08AmountTooLarge.name(),
            Some("Amount Too Large")
        );
    }

    #[test]
    fn codes_outside_the_rfc_are_kept_verbatim() {
        let code = ErrorCode::from_bytes(*b"F09").unwrap();
        assert_eq!(code, ErrorCode::Other(*b"F09"));
        assert_eq!(code.class(), ErrorClass::Final);
        assert_eq!(code.name(), None);
        assert_eq!(
            ErrorCode::from_bytes(*b"X12").unwrap().class(),
            ErrorClass::Unknown
        );
        assert_eq!(
            ErrorCode::from_bytes([b'F', 0x80, b'0']),
            Err(InvalidErrorCode([b'F', 0x80, b'0']))
        );
    }

    #[test]
    fn f08_data_matches_the_js_vector() {
        let data = AmountTooLargeData {
            received_amount: 255,
            maximum_amount: 65535,
        };
        let bytes = data.encode();
        assert_eq!(
            bytes,
            [0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
        );
        assert_eq!(AmountTooLargeData::decode(&bytes), Some(data));
        assert_eq!(AmountTooLargeData::decode(&bytes[..15]), None);
    }
}
