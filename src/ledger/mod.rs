//! A double-entry ledger with two-phase transfers: Rafiki's accounting model (per asset a
//! liquidity and a settlement account, per peer a liquidity account) under TigerBeetle's rules.
//! Pure and synchronous; time is passed in by the caller.

pub mod audit;
mod book;
mod error;
mod types;

pub use audit::Violation;
pub use book::Ledger;
pub use error::{LedgerError, LinkedBatchError};
pub use types::{
    Account, AccountId, AccountKind, BalanceLimit, LedgerId, LedgerOp, LedgerTime, NewTransfer,
    Phase, Retention, Transfer, TransferId, TransferKind, TransferState,
};
