//! The ledger's one error type, covering Rafiki's `TransferError`s (rafiki.md §5.3).

use thiserror::Error;

/// Why the ledger refused an operation. A refused operation changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum LedgerError {
    #[error("Transfer already posted")]
    AlreadyPosted,
    #[error("Transfer already voided")]
    AlreadyVoided,
    #[error("Transfer already expired")]
    TransferExpired,
    #[error("Unknown transfer")]
    UnknownTransfer,
    #[error("Transfer already exists")]
    TransferExists,
    #[error("Insufficient transfer balance")]
    InsufficientBalance,
    #[error("Invalid transfer id")]
    InvalidId,
    #[error("Transfer amount is zero")]
    AmountZero,
    #[error("Invalid timeout")]
    InvalidTimeout,
    #[error("Transfer between the same account")]
    SameAccounts,
    #[error("Transfer between different assets")]
    DifferentAssets,
    #[error("Unknown account")]
    UnknownAccount,
    #[error("Account already exists")]
    AccountExists,
    /// Closing an account that holds money, has transfers pending, or ever took in more than it
    /// gave out (or the reverse): removing it would unbalance its ledger.
    #[error("Account is not empty")]
    AccountNotEmpty,
    /// A ledger's settlement account is where deposits come from: it is never closed.
    #[error("Settlement account cannot be closed")]
    SettlementAccount,
    /// Forgetting a transfer that has not ended: the pending totals it holds need its record.
    #[error("Transfer is pending")]
    TransferPending,
    /// Crediting would take a balance past u64::MAX, the largest amount the admin API can report,
    /// or a running total past u128::MAX.
    #[error("Balance would overflow")]
    Overflow,
}

/// A linked batch failed: nothing in it was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("operation {index} of the linked batch failed: {error}")]
pub struct LinkedBatchError {
    pub index: usize,
    pub error: LedgerError,
}
