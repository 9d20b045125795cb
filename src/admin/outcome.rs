//! The one place where service results become the seed era's payload fields: `code` (an HTTP-like
//! status as a string), `success`, `message`, and for liquidity the `error` enum.

use async_graphql::Enum;

use crate::autopeer::AutoPeeringError;
use crate::instance::{AssetError, LiquidityError, PeerError};

/// Rafiki's `LiquidityError` enum, with the values peerlab adds for refusals Rafiki's old API could
/// not express (an expired withdrawal, a bad timeout, a balance beyond UInt64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(name = "LiquidityError", rename_items = "PascalCase")]
pub enum LiquidityErrorCode {
    AlreadyPosted,
    AlreadyVoided,
    AmountZero,
    InsufficientBalance,
    InvalidId,
    TransferExists,
    UnknownAsset,
    UnknownIncomingPayment,
    UnknownOutgoingPayment,
    UnknownPayment,
    UnknownWalletAddress,
    UnknownPeer,
    UnknownTransfer,
    TransferExpired,
    InvalidTimeout,
    BalanceOverflow,
}

/// The common fields of every mutation payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: &'static str,
    pub success: bool,
    pub message: String,
    pub liquidity_error: Option<LiquidityErrorCode>,
}

impl Outcome {
    pub fn ok(message: &str) -> Self {
        Self {
            code: "200",
            success: true,
            message: message.to_owned(),
            liquidity_error: None,
        }
    }

    pub fn failed(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            success: false,
            message: message.into(),
            liquidity_error: None,
        }
    }
}

impl From<AssetError> for Outcome {
    fn from(error: AssetError) -> Self {
        let code = match error {
            AssetError::UnknownAsset => "404",
            AssetError::DuplicateAsset => "409",
            AssetError::CannotDeleteInUseAsset => "403",
            AssetError::InvalidCode => "400",
            AssetError::Internal(_) => "500",
        };
        Outcome::failed(code, error.to_string())
    }
}

impl From<PeerError> for Outcome {
    fn from(error: PeerError) -> Self {
        let code = match error {
            PeerError::DuplicateIncomingToken | PeerError::DuplicatePeer => "409",
            PeerError::UnknownPeer => "404",
            PeerError::InvalidStaticIlpAddress
            | PeerError::ReservedStaticIlpAddress
            | PeerError::InvalidHttpEndpoint
            | PeerError::UnknownAsset
            | PeerError::InvalidInitialLiquidity
            | PeerError::InvalidRoute
            | PeerError::InvalidToken
            | PeerError::NameTooLong
            | PeerError::InvalidName => "400",
        };
        Outcome::failed(code, error.to_string())
    }
}

impl From<LiquidityError> for Outcome {
    fn from(error: LiquidityError) -> Self {
        use LiquidityErrorCode as E;
        let (code, enum_value) = match error {
            LiquidityError::AlreadyPosted => ("409", Some(E::AlreadyPosted)),
            LiquidityError::AlreadyVoided => ("409", Some(E::AlreadyVoided)),
            LiquidityError::TransferExpired => ("403", Some(E::TransferExpired)),
            LiquidityError::AmountZero => ("400", Some(E::AmountZero)),
            LiquidityError::InsufficientBalance => ("403", Some(E::InsufficientBalance)),
            LiquidityError::InvalidId => ("400", Some(E::InvalidId)),
            LiquidityError::TransferExists => ("409", Some(E::TransferExists)),
            LiquidityError::UnknownAsset => ("404", Some(E::UnknownAsset)),
            LiquidityError::UnknownPeer => ("404", Some(E::UnknownPeer)),
            LiquidityError::UnknownTransfer => ("404", Some(E::UnknownTransfer)),
            LiquidityError::InvalidTimeout => ("400", Some(E::InvalidTimeout)),
            LiquidityError::BalanceOverflow => ("400", Some(E::BalanceOverflow)),
            LiquidityError::Internal(_) => ("500", None),
        };
        Outcome {
            liquidity_error: enum_value,
            ..Outcome::failed(code, error.to_string())
        }
    }
}

impl From<AutoPeeringError> for Outcome {
    fn from(error: AutoPeeringError) -> Self {
        let code = if error.status() == 404 { "404" } else { "400" };
        Outcome::failed(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_era_messages_and_codes() {
        let unknown_peer = Outcome::from(LiquidityError::UnknownPeer);
        assert_eq!(
            (
                unknown_peer.code,
                unknown_peer.success,
                unknown_peer.message.as_str()
            ),
            ("404", false, "Unknown peer")
        );
        assert_eq!(
            unknown_peer.liquidity_error,
            Some(LiquidityErrorCode::UnknownPeer)
        );
        let posted = Outcome::from(LiquidityError::AlreadyPosted);
        assert_eq!(
            (posted.code, posted.message.as_str()),
            ("409", "Withdrawal already posted")
        );
        let insufficient = Outcome::from(LiquidityError::InsufficientBalance);
        assert_eq!(
            (insufficient.code, insufficient.message.as_str()),
            ("403", "Insufficient balance")
        );
        let duplicate = Outcome::from(PeerError::DuplicatePeer);
        assert_eq!(
            (duplicate.code, duplicate.message.as_str()),
            ("409", "duplicate peer found for same ILP address and asset")
        );
        let asset = Outcome::from(AssetError::DuplicateAsset);
        assert_eq!(
            (asset.code, asset.message.as_str()),
            ("409", "Asset already exists")
        );
    }
}
