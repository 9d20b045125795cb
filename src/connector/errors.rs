//! Why a packet was rejected here, and the one place those reasons become ILP Rejects.

use thiserror::Error;

use crate::ilp::{Address, AmountTooLargeData, ErrorCode, Reject};

/// A packet this connector refuses or could not deliver. Every variant becomes a Reject triggered
/// by this connector's own address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PacketError {
    #[error("no route found. destination={0}")]
    Unreachable(String),
    #[error("peer.* addresses are never forwarded: {0}")]
    PeerProtocol(String),
    #[error("invalid packet: {0}")]
    InvalidPacket(&'static str),
    #[error("packet size too large. maxAmount={maximum} actualAmount={received}")]
    AmountTooLarge { received: u64, maximum: u64 },
    #[error("too many requests, throttling.")]
    RateLimited,
    #[error("InsufficientBalance")]
    InsufficientLiquidity,
    #[error("source transfer has already expired.")]
    AlreadyExpired,
    #[error("source transfer expires too soon to complete payment.")]
    ExpiresTooSoon,
    #[error("packet expired.")]
    TimedOut,
    #[error("fulfillment did not match expected value.")]
    WrongCondition,
    #[error("peer unreachable: {0}")]
    PeerUnreachable(String),
    #[error("peer refused the packet: HTTP {0}")]
    PeerRefused(u16),
    #[error("peer failed: {0}")]
    PeerFailed(String),
    /// A bug or an inconsistency here. The details are logged, never sent.
    #[error("unexpected internal error")]
    Internal(String),
}

impl PacketError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unreachable(_) | Self::PeerProtocol(_) | Self::PeerRefused(_) => {
                ErrorCode::F02Unreachable
            }
            Self::InvalidPacket(_) => ErrorCode::F01InvalidPacket,
            Self::AmountTooLarge { .. } => ErrorCode::F08AmountTooLarge,
            Self::RateLimited => ErrorCode::T05RateLimited,
            Self::InsufficientLiquidity => ErrorCode::T04InsufficientLiquidity,
            Self::AlreadyExpired | Self::ExpiresTooSoon => ErrorCode::R02InsufficientTimeout,
            Self::TimedOut => ErrorCode::R00TransferTimedOut,
            Self::WrongCondition => ErrorCode::F05WrongCondition,
            Self::PeerUnreachable(_) => ErrorCode::T01PeerUnreachable,
            Self::PeerFailed(_) | Self::Internal(_) => ErrorCode::T00InternalError,
        }
    }

    /// The Reject for this error, triggered by `own_address`.
    pub fn to_reject(&self, own_address: &Address) -> Reject {
        if let Self::Internal(details) = self {
            tracing::error!(%details, "internal error while handling a packet");
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
        let internal = PacketError::Internal("secret detail".into()).to_reject(&own);
        assert_eq!(internal.code(), ErrorCode::T00InternalError);
        assert_eq!(internal.message(), "unexpected internal error");
    }
}
