//! The ledger's vocabulary: ids, accounts, transfers and its clock.

use std::fmt;
use std::str::FromStr;

use uuid::{Uuid, Version};

use super::error::LedgerError;

/// Milliseconds on the ledger's clock. The caller supplies the clock, so tests and the simulator
/// can drive time exactly; the ledger itself never reads the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LedgerTime(pub u64);

/// The ledger (asset) a set of accounts belongs to; money only moves within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LedgerId(pub u32);

/// An account id. Rafiki uses the owning entity's id (the peer's or the asset's) for liquidity
/// accounts; the ledger does not care, as long as ids are unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub Uuid);

impl AccountId {
    pub fn random() -> Self {
        Self(crate::entropy::uuid())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A transfer id: a random (version 4) UUID chosen by the caller, as Rafiki requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransferId(Uuid);

impl TransferId {
    pub fn random() -> Self {
        Self(crate::entropy::uuid())
    }

    /// Accepts version 4 UUIDs only; anything else is [`LedgerError::InvalidId`].
    pub fn from_uuid(uuid: Uuid) -> Result<Self, LedgerError> {
        if uuid.get_version() == Some(Version::Random) {
            Ok(Self(uuid))
        } else {
            Err(LedgerError::InvalidId)
        }
    }

    /// Parses user input, e.g. a GraphQL `id` or `withdrawalId` argument.
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        // The hyphenated form only, as Rafiki's validator does; braces, URNs and bare hex are refused.
        if text.len() != 36 {
            return Err(LedgerError::InvalidId);
        }
        Uuid::try_parse(text)
            .map_err(|_| LedgerError::InvalidId)
            .and_then(Self::from_uuid)
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }
}

impl FromStr for TransferId {
    type Err = LedgerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What an account is for. The kind fixes which side of the account may never exceed the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// An asset's own liquidity (the operator's float in that asset).
    AssetLiquidity,
    /// An asset's settlement account: the outside world. Deposits come from it, withdrawals go
    /// to it. Exactly one per ledger.
    Settlement,
    /// A peer's liquidity: how much that peer may still send through us.
    PeerLiquidity,
    /// A wallet address's balance: what it received and has not paid out or withdrawn.
    WalletAddress,
    /// An incoming payment's balance: what packets for it brought, until the operator withdraws
    /// it (Rafiki's LiquidityAccountType INCOMING).
    IncomingPayment,
    /// An outgoing payment's: what the operator funded it with, less what it sent.
    OutgoingPayment,
}

impl AccountKind {
    pub fn limit(self) -> BalanceLimit {
        match self {
            AccountKind::AssetLiquidity
            | AccountKind::PeerLiquidity
            | AccountKind::WalletAddress
            | AccountKind::IncomingPayment
            | AccountKind::OutgoingPayment => BalanceLimit::DebitsMustNotExceedCredits,
            AccountKind::Settlement => BalanceLimit::CreditsMustNotExceedDebits,
        }
    }
}

/// TigerBeetle's account flags, one of which every account carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BalanceLimit {
    /// `debits_pending + debits_posted <= credits_posted`: liquidity accounts cannot go negative.
    DebitsMustNotExceedCredits,
    /// `credits_pending + credits_posted <= debits_posted`: settlement accounts cannot pay out
    /// more than was deposited.
    CreditsMustNotExceedDebits,
}

/// An account's four running totals. Amounts are u64; totals are u128 so that they cannot
/// realistically overflow, and every addition is checked anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub ledger: LedgerId,
    pub kind: AccountKind,
    pub debits_pending: u128,
    pub debits_posted: u128,
    pub credits_pending: u128,
    pub credits_posted: u128,
}

impl Account {
    pub fn new(id: AccountId, ledger: LedgerId, kind: AccountKind) -> Self {
        Self {
            id,
            ledger,
            kind,
            debits_pending: 0,
            debits_posted: 0,
            credits_pending: 0,
            credits_posted: 0,
        }
    }

    /// Rafiki's balance: for a liquidity account `credits_posted - debits_posted - debits_pending`
    /// (pending debits are already spoken for, pending credits not yet received); for a settlement
    /// account the mirror image, `debits_posted - credits_posted - credits_pending`, i.e. what was
    /// deposited and not yet withdrawn. Never negative while the account's limit holds; an account
    /// whose limit is broken reports 0.
    pub fn balance(&self) -> u128 {
        match self.kind.limit() {
            BalanceLimit::DebitsMustNotExceedCredits => self
                .credits_posted
                .saturating_sub(self.debits_posted)
                .saturating_sub(self.debits_pending),
            BalanceLimit::CreditsMustNotExceedDebits => self
                .debits_posted
                .saturating_sub(self.credits_posted)
                .saturating_sub(self.credits_pending),
        }
    }

    /// Nothing pending on either side and as much posted out as posted in: the account holds
    /// nothing and nothing is on its way, so it can be closed without unbalancing its ledger.
    pub fn is_empty(&self) -> bool {
        self.debits_pending == 0
            && self.credits_pending == 0
            && self.debits_posted == self.credits_posted
    }

    /// True while the account's limit flag holds.
    pub fn within_limit(&self) -> bool {
        match self.kind.limit() {
            BalanceLimit::DebitsMustNotExceedCredits => self
                .debits_pending
                .checked_add(self.debits_posted)
                .is_some_and(|debits| debits <= self.credits_posted),
            BalanceLimit::CreditsMustNotExceedDebits => self
                .credits_pending
                .checked_add(self.credits_posted)
                .is_some_and(|credits| credits <= self.debits_posted),
        }
    }
}

/// Why money moved, as Rafiki records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferKind {
    Deposit,
    Withdrawal,
    Transfer,
}

/// Whether a new transfer moves money at once or reserves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Posted immediately.
    Single,
    /// Reserved until posted or voided; with a timeout it is voided (expired) by the clock when
    /// the timeout has passed. A timeout must be at least 1 ms.
    Pending { timeout_ms: Option<u64> },
}

/// Where a transfer stands. A pending transfer ends exactly once: posted, voided or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferState {
    Pending,
    Posted,
    Voided,
    Expired,
}

impl TransferState {
    pub fn is_final(self) -> bool {
        !matches!(self, TransferState::Pending)
    }
}

/// How long the ledger keeps a transfer's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retention {
    /// For as long as the ledger lives, or until its owner forgets it once it ended
    /// (`Ledger::forget_transfer`): the id is refused as a duplicate meanwhile. For transfers
    /// whose ids come from outside (the admin API's deposits and withdrawals).
    Full,
    /// Until the transfer ends (posted, voided or expired): then it leaves the ledger and its
    /// final record goes back to the caller. For transfers whose ids the caller generates at
    /// random (packets), which need no duplicate detection once they have ended, so that memory
    /// does not grow with the number of packets handled.
    UntilEnded,
}

/// A request to create a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewTransfer {
    pub id: TransferId,
    pub debit_account: AccountId,
    pub credit_account: AccountId,
    pub amount: u64,
    pub kind: TransferKind,
    pub phase: Phase,
}

/// A transfer the ledger has accepted. Immutable apart from `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub id: TransferId,
    pub debit_account: AccountId,
    pub credit_account: AccountId,
    pub ledger: LedgerId,
    pub amount: u64,
    pub kind: TransferKind,
    pub state: TransferState,
    pub created_at: LedgerTime,
    /// Set for pending transfers with a timeout: the instant at which the clock expires them.
    pub expires_at: Option<LedgerTime>,
    pub retention: Retention,
}

/// One step of a linked batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerOp {
    Create(NewTransfer),
    Post(TransferId),
    Void(TransferId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_ids_must_be_hyphenated_v4_uuids() {
        let id = TransferId::random();
        assert_eq!(TransferId::parse(&id.to_string()), Ok(id));
        for bad in [
            "",
            "not-a-uuid",
            "00000000-0000-0000-0000-000000000000",
            // Version 1.
            "c232ab00-9414-11ec-b3c8-9f6bdeced846",
            // Version 4 but without hyphens, or with braces.
            "67e5504410b1426f9247bb680e5fe0c8",
            "{67e55044-10b1-426f-9247-bb680e5fe0c8}",
            "67e55044-10b1-426f-9247-bb680e5fe0c8 ",
        ] {
            assert_eq!(
                TransferId::parse(bad),
                Err(LedgerError::InvalidId),
                "{bad:?}"
            );
        }
        assert!(TransferId::parse("67e55044-10b1-426f-9247-bb680e5fe0c8").is_ok());
    }

    #[test]
    fn balances_follow_the_account_kind() {
        let mut liquidity =
            Account::new(AccountId::random(), LedgerId(1), AccountKind::PeerLiquidity);
        liquidity.credits_posted = 100;
        liquidity.debits_posted = 30;
        liquidity.debits_pending = 20;
        liquidity.credits_pending = 1_000;
        assert_eq!(liquidity.balance(), 50);
        assert!(liquidity.within_limit());
        liquidity.debits_pending = 71;
        assert!(!liquidity.within_limit());

        let mut settlement =
            Account::new(AccountId::random(), LedgerId(1), AccountKind::Settlement);
        settlement.debits_posted = 100;
        settlement.credits_posted = 40;
        settlement.credits_pending = 10;
        assert_eq!(settlement.balance(), 50);
        assert!(settlement.within_limit());
    }
}
