//! What the instance's services refuse, and why. The admin API maps these to payloads in one
//! place (`admin::outcome`).

use thiserror::Error;

use crate::ledger::LedgerError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AssetError {
    #[error("Unknown asset")]
    UnknownAsset,
    #[error("Asset already exists")]
    DuplicateAsset,
    #[error("Cannot delete! Asset in use.")]
    CannotDeleteInUseAsset,
    #[error(
        "invalid asset code (1 to 255 characters, no spaces, control or invisible formatting characters)"
    )]
    InvalidCode,
    /// The ledger refused to open the asset's accounts, which fresh ids make impossible.
    #[error("Internal error: {0}")]
    Internal(LedgerError),
}

/// Rafiki's `PeerError`s, plus the limits peerlab puts on free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PeerError {
    #[error("invalid ILP address")]
    InvalidStaticIlpAddress,
    /// `peer.*` addresses name the link itself (IL-DCP) and this instance's own address is its
    /// own: a peer at either would route packets in a loop.
    #[error("a peer's static ILP address cannot be peer.* or this instance's own address")]
    ReservedStaticIlpAddress,
    #[error("invalid HTTP endpoint")]
    InvalidHttpEndpoint,
    #[error("unknown asset")]
    UnknownAsset,
    #[error("duplicate incoming token")]
    DuplicateIncomingToken,
    #[error("duplicate peer found for same ILP address and asset")]
    DuplicatePeer,
    #[error("invalid initial liquidity for peer")]
    InvalidInitialLiquidity,
    #[error("unknown peer")]
    UnknownPeer,
    #[error(
        "invalid route (each route must be an ILP address prefix, neither peer.* nor this instance's own address)"
    )]
    InvalidRoute,
    #[error("invalid auth token (1 to 1024 characters)")]
    InvalidToken,
    #[error("name is too long (at most 255 characters)")]
    NameTooLong,
    #[error("name contains a control or invisible formatting character")]
    InvalidName,
}

/// Why a deposit, withdrawal, post or void was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LiquidityError {
    #[error("Withdrawal already posted")]
    AlreadyPosted,
    #[error("Withdrawal already voided")]
    AlreadyVoided,
    #[error("Withdrawal already expired")]
    TransferExpired,
    #[error("Amount is zero")]
    AmountZero,
    #[error("Insufficient balance")]
    InsufficientBalance,
    #[error("Invalid id")]
    InvalidId,
    #[error("Transfer exists")]
    TransferExists,
    #[error("Unknown asset")]
    UnknownAsset,
    #[error("Unknown peer")]
    UnknownPeer,
    #[error("Unknown wallet address")]
    UnknownWalletAddress,
    /// No such incoming payment, or it has not completed or expired with money received.
    #[error("Unknown incoming payment")]
    UnknownIncomingPayment,
    #[error("Unknown outgoing payment")]
    UnknownOutgoingPayment,
    #[error("Unknown withdrawal")]
    UnknownTransfer,
    #[error("Invalid timeout")]
    InvalidTimeout,
    #[error("Balance would exceed the largest UInt64")]
    BalanceOverflow,
    /// A ledger refusal that the services' own checks should have made impossible.
    #[error("Internal error: {0}")]
    Internal(LedgerError),
}

impl From<LedgerError> for LiquidityError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::AlreadyPosted => Self::AlreadyPosted,
            LedgerError::AlreadyVoided => Self::AlreadyVoided,
            LedgerError::TransferExpired => Self::TransferExpired,
            LedgerError::UnknownTransfer => Self::UnknownTransfer,
            LedgerError::TransferExists => Self::TransferExists,
            LedgerError::InsufficientBalance => Self::InsufficientBalance,
            LedgerError::InvalidId => Self::InvalidId,
            LedgerError::AmountZero => Self::AmountZero,
            LedgerError::InvalidTimeout => Self::InvalidTimeout,
            LedgerError::Overflow => Self::BalanceOverflow,
            LedgerError::SameAccounts
            | LedgerError::DifferentAssets
            | LedgerError::UnknownAccount
            | LedgerError::AccountExists
            | LedgerError::AccountNotEmpty
            | LedgerError::SettlementAccount
            | LedgerError::TransferPending => Self::Internal(error),
        }
    }
}
