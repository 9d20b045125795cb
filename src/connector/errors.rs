//! Why a packet was rejected here, and the one place those reasons become ILP Rejects.

use thiserror::Error;

use crate::ilp::{Address, AmountTooLargeData, ErrorCode, Reject, Timestamp};

/// A packet this connector refuses or could not deliver. Every variant becomes a Reject triggered
/// by this connector's own address, with Rafiki's code and message (reference/rafiki.md §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PacketError {
    /// No route for the destination (including `peer.*` addresses other than `peer.config`,
    /// which Rafiki's routing table never covers). The destination goes to the log only, as in
    /// Rafiki's account middleware.
    #[error("unknown destination account")]
    UnknownDestination(String),
    #[error("invalid packet: {0}")]
    InvalidPacket(&'static str),
    #[error("packet size too large. maxAmount={maximum} actualAmount={received}")]
    AmountTooLarge { received: u64, maximum: u64 },
    #[error("too many requests, throttling.")]
    RateLimited,
    #[error("InsufficientBalance")]
    InsufficientLiquidity,
    #[error(
        "source transfer has already expired. sourceExpiry={} currentTime={}",
        source_expiry.to_iso_string(),
        now.to_iso_string()
    )]
    AlreadyExpired {
        source_expiry: Timestamp,
        now: Timestamp,
    },
    /// `required` is what Rafiki reports: now plus twice the minimum expiry window.
    #[error(
        "source transfer expires too soon to complete payment. actualSourceExpiry={} requiredSourceExpiry={} currentTime={}",
        source_expiry.to_iso_string(),
        required.to_iso_string(),
        now.to_iso_string()
    )]
    ExpiresTooSoon {
        source_expiry: Timestamp,
        required: Timestamp,
        now: Timestamp,
    },
    #[error("packet expired.")]
    TimedOut,
    /// No exchange rate for the incoming and outgoing peers' assets (Rafiki's balance
    /// middleware: `Exchange rate error: InvalidDestinationPrice`).
    #[error("Exchange rate error: InvalidDestinationPrice")]
    NoExchangeRate,
    /// A packet for a receiving address that cannot be opened: F02 or F06, empty message.
    #[error("{0}")]
    Receive(crate::stream::ReceiveError),
    /// Money for an incoming payment that is completed or expired: Rafiki's account middleware
    /// refuses it (UnreachableError) before its STREAM receiver sees it.
    #[error("destination account is in an incorrect state")]
    IncomingPaymentClosed,
    /// A nonzero amount that converts to nothing in the next hop's asset.
    #[error("source amount too small to deliver anything at the exchange rate")]
    ConvertsToZero,
    #[error("fulfillment did not match expected value.")]
    WrongCondition,
    /// The next hop refused the connection, answered a non-2xx status or something that is not
    /// a Fulfill or Reject. Rafiki's client throws a non-ILP error there, which its error
    /// handler turns into T00; the details are logged, never sent.
    #[error("unexpected internal error")]
    NextHop(String),
    /// A bug or an inconsistency here. The details are logged, never sent.
    #[error("unexpected internal error")]
    Internal(String),
}

impl PacketError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownDestination(_) | Self::IncomingPaymentClosed => ErrorCode::F02Unreachable,
            Self::InvalidPacket(_) => ErrorCode::F01InvalidPacket,
            Self::AmountTooLarge { .. } => ErrorCode::F08AmountTooLarge,
            Self::RateLimited => ErrorCode::T05RateLimited,
            Self::InsufficientLiquidity => ErrorCode::T04InsufficientLiquidity,
            Self::AlreadyExpired { .. } | Self::ExpiresTooSoon { .. } => {
                ErrorCode::R02InsufficientTimeout
            }
            Self::TimedOut => ErrorCode::R00TransferTimedOut,
            Self::NoExchangeRate => ErrorCode::F07CannotReceive,
            Self::Receive(error) => error.code(),
            Self::ConvertsToZero => ErrorCode::R01InsufficientSourceAmount,
            Self::WrongCondition => ErrorCode::F05WrongCondition,
            Self::NextHop(_) | Self::Internal(_) => ErrorCode::T00InternalError,
        }
    }

    /// The Reject for this error, triggered by `own_address`.
    pub fn to_reject(&self, own_address: &Address) -> Reject {
        match self {
            Self::Internal(details) => {
                tracing::error!(%details, "internal error while handling a packet");
            }
            Self::NextHop(details) => {
                tracing::warn!(%details, "the next hop did not answer with a packet");
            }
            Self::UnknownDestination(destination) => {
                tracing::debug!(%destination, "unknown destination account");
            }
            _ => {}
        }
        let data = match self {
            Self::AmountTooLarge { received, maximum } => AmountTooLargeData {
                received_amount: *received,
                maximum_amount: *maximum,
            }
            .encode()
            .to_vec(),
            _ => Vec::new(),
        };
        Reject::truncated(
            self.code(),
            Some(own_address.clone()),
            &self.to_string(),
            data,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_carry_code_own_address_and_f08_data() {
        let own = Address::parse("test.me").unwrap();
        let reject = PacketError::AmountTooLarge {
            received: 255,
            maximum: 65535,
        }
        .to_reject(&own);
        assert_eq!(reject.code(), ErrorCode::F08AmountTooLarge);
        assert_eq!(reject.triggered_by(), Some(&own));
        assert_eq!(
            AmountTooLargeData::decode(reject.data()),
            Some(AmountTooLargeData {
                received_amount: 255,
                maximum_amount: 65535
            })
        );
        for hidden in [
            PacketError::Internal("secret detail".into()),
            PacketError::NextHop("connection refused".into()),
        ] {
            let reject = hidden.to_reject(&own);
            assert_eq!(reject.code(), ErrorCode::T00InternalError);
            assert_eq!(reject.message(), "unexpected internal error");
        }
        let unknown = PacketError::UnknownDestination("test.nowhere".into()).to_reject(&own);
        assert_eq!(
            (unknown.code(), unknown.message()),
            (ErrorCode::F02Unreachable, "unknown destination account")
        );
    }

    #[test]
    fn r02_messages_carry_rafikis_timestamps() {
        let at = |millis| Timestamp::from_unix_millis(millis).unwrap();
        let expired = PacketError::AlreadyExpired {
            source_expiry: at(1_434_412_799_999),
            now: at(1_434_412_800_000),
        };
        // ilp-connector's own test expectation, which Rafiki's middleware copies.
        assert_eq!(
            expired.to_string(),
            "source transfer has already expired. sourceExpiry=2015-06-15T23:59:59.999Z currentTime=2015-06-16T00:00:00.000Z"
        );
        let too_soon = PacketError::ExpiresTooSoon {
            source_expiry: at(1_434_412_801_999),
            required: at(1_434_412_802_000),
            now: at(1_434_412_800_000),
        };
        assert_eq!(
            too_soon.to_string(),
            "source transfer expires too soon to complete payment. actualSourceExpiry=2015-06-16T00:00:01.999Z requiredSourceExpiry=2015-06-16T00:00:02.000Z currentTime=2015-06-16T00:00:00.000Z"
        );
    }
}
