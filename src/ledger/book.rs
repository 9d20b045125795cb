//! The ledger: accounts, transfers, and the rules that move money between them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::HashMap as StdHashMap;

use hashbrown::HashMap;
use hashbrown::hash_map::Entry;

use super::audit::{self, Violation};
use super::error::{LedgerError, LinkedBatchError};
use super::types::{
    Account, AccountId, AccountKind, BalanceLimit, LedgerId, LedgerOp, LedgerTime, NewTransfer,
    Phase, Retention, Transfer, TransferId, TransferKind, TransferState,
};

/// An in-memory double-entry ledger with TigerBeetle's two-phase rules and Rafiki's account model.
///
/// Pure and synchronous: the caller owns the clock and moves it with [`Ledger::advance_clock`],
/// which is also the only place pending transfers expire. Every other operation either succeeds
/// completely or returns an error and changes nothing.
///
/// History: a transfer is kept for as long as its [`Retention`] says. One created with
/// [`Ledger::create_transfer`] (and every deposit and withdrawal) is kept in full, so its id is
/// not accepted again, until its owner forgets it once it ended ([`Ledger::forget_transfer`]: a
/// forgotten payment's deposit and withdrawal). One created with [`Ledger::create_transfer_until_ended`] leaves the ledger
/// when it is posted, voided or expired, and the call that ended it returns its final record, so
/// a ledger that moves millions of packets holds only the ones in flight. Every pending transfer is
/// in the map either way, so the audit can recompute pending totals from transfers. Reading a
/// balance is a single map lookup however long the history grows.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    clock: LedgerTime,
    accounts: HashMap<AccountId, Account>,
    transfers: HashMap<TransferId, Transfer>,
    /// How many transfers in `transfers` are pending, so that counting them is not a scan.
    pending: usize,
    settlements: HashMap<LedgerId, AccountId>,
    /// Pending transfers with a timeout, soonest first. Entries are not removed when a transfer is
    /// posted or voided (or forgotten): the sweep skips those whose transfer is no longer pending,
    /// and [`Ledger::compact_expiries`] drops them once they outnumber the pending transfers. So
    /// the heap stays proportional to what is in flight, not to the rate times the timeout.
    expiries: BinaryHeap<Reverse<(LedgerTime, TransferId)>>,
}

/// What a linked batch must restore if a later step fails.
enum Undo {
    Account(Account),
    Transfer(TransferId, Option<Transfer>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    Post,
    Void,
    Expire,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger whose clock starts at `now`.
    pub fn starting_at(now: LedgerTime) -> Self {
        Self {
            clock: now,
            ..Self::default()
        }
    }

    /// The ledger's clock: the latest time passed to [`Ledger::advance_clock`].
    pub fn now(&self) -> LedgerTime {
        self.clock
    }

    // === accounts ===

    /// Opens an account with zero totals. Each ledger has at most one settlement account.
    pub fn create_account(
        &mut self,
        id: AccountId,
        ledger: LedgerId,
        kind: AccountKind,
    ) -> Result<(), LedgerError> {
        if self.accounts.contains_key(&id) {
            return Err(LedgerError::AccountExists);
        }
        if kind == AccountKind::Settlement {
            if self.settlements.contains_key(&ledger) {
                return Err(LedgerError::AccountExists);
            }
            self.settlements.insert(ledger, id);
        }
        self.accounts.insert(id, Account::new(id, ledger, kind));
        Ok(())
    }

    /// Removes an empty account: nothing pending on either side, and as much posted out as posted
    /// in (so a liquidity account's balance is 0). Removing it subtracts the same amount from its
    /// ledger's posted debits and credits, so every ledger stays balanced (audit invariant 1), and
    /// no pending transfer refers to it (invariant 3). Transfers that ended and are kept in full
    /// may still name it; their records stay readable until forgotten
    /// ([`Ledger::forget_transfer`]). A settlement account is never closed. Returns the account's
    /// last state.
    pub fn close_account(&mut self, id: AccountId) -> Result<Account, LedgerError> {
        let account = self.accounts.get(&id).ok_or(LedgerError::UnknownAccount)?;
        if account.kind == AccountKind::Settlement {
            return Err(LedgerError::SettlementAccount);
        }
        if !account.is_empty() {
            return Err(LedgerError::AccountNotEmpty);
        }
        self.accounts.remove(&id).ok_or(LedgerError::UnknownAccount)
    }

    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(&id)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// The account's balance (see [`Account::balance`]).
    pub fn balance(&self, id: AccountId) -> Result<u128, LedgerError> {
        self.accounts
            .get(&id)
            .map(Account::balance)
            .ok_or(LedgerError::UnknownAccount)
    }

    pub fn settlement_account(&self, ledger: LedgerId) -> Option<AccountId> {
        self.settlements.get(&ledger).copied()
    }

    // === transfers ===

    pub fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.transfers.get(&id)
    }

    /// The transfers the ledger holds: those kept in full, and those kept until they end that
    /// have not ended yet.
    pub fn transfers(&self) -> impl Iterator<Item = &Transfer> {
        self.transfers.values()
    }

    /// Forgets a transfer kept in full that has ended (posted, voided or expired): its record
    /// leaves the ledger, and with it the duplicate check on its id. For the owner of a finished
    /// record (a payment) whose transfers nobody will ask about again; the ids it used were
    /// generated at random, so none comes back. Refused for a pending transfer, whose amount the
    /// pending totals still hold (`TransferPending`). Balances do not change: an ended transfer's
    /// amount is already in (or out of) the posted totals. Returns the forgotten record.
    pub fn forget_transfer(&mut self, id: TransferId) -> Result<Transfer, LedgerError> {
        let transfer = self
            .transfers
            .get(&id)
            .ok_or(LedgerError::UnknownTransfer)?;
        if transfer.state == TransferState::Pending {
            return Err(LedgerError::TransferPending);
        }
        // Its expiry entry, if any, is skipped and compacted away like a posted transfer's.
        self.transfers
            .remove(&id)
            .ok_or(LedgerError::UnknownTransfer)
    }

    /// How many transfers are pending, without a scan.
    pub fn pending_count(&self) -> usize {
        self.pending
    }

    /// The state of every transfer kept in full, for checking that no transfer ends twice between
    /// two snapshots. Transfers kept until they end are left out: leaving is how they end.
    pub fn transfer_states(&self) -> StdHashMap<TransferId, TransferState> {
        self.transfers
            .values()
            .filter(|t| t.retention == Retention::Full)
            .map(|t| (t.id, t.state))
            .collect()
    }

    /// Creates a transfer. Checks, in this order: the id is new (`TransferExists`), both accounts
    /// exist (`UnknownAccount`), they differ (`SameAccounts`), share a ledger (`DifferentAssets`),
    /// the amount is not zero (`AmountZero`), the timeout is usable (`InvalidTimeout`), the debited
    /// and credited accounts stay within their limits (`InsufficientBalance`), and no balance or
    /// total overflows (`Overflow`).
    ///
    /// The transfer is kept in full: its id is refused as a duplicate for as long as the ledger
    /// keeps it (until [`Ledger::forget_transfer`], if ever).
    pub fn create_transfer(&mut self, new: NewTransfer) -> Result<(), LedgerError> {
        self.create(&new, Retention::Full, None)
    }

    /// Creates a transfer, as [`Ledger::create_transfer`] does, that the ledger forgets once it
    /// ends: posting, voiding or expiring it removes it and hands its final record to the caller
    /// (a single-phase one ends, and is forgotten, at once). Its id is refused as a duplicate only
    /// while it is pending, so the caller must never reuse one: it is for ids the caller generates
    /// at random, such as packets' reservations.
    pub fn create_transfer_until_ended(&mut self, new: NewTransfer) -> Result<(), LedgerError> {
        self.create(&new, Retention::UntilEnded, None)
    }

    /// Creates transfers as [`Ledger::create_transfer_until_ended`] does, all or none: the first
    /// that fails undoes those before it. A packet that crosses assets needs one in each asset's
    /// ledger.
    pub fn create_transfers_until_ended(
        &mut self,
        news: &[NewTransfer],
    ) -> Result<(), LinkedBatchError> {
        let mut undo = Vec::with_capacity(news.len() * 3);
        for (index, new) in news.iter().enumerate() {
            if let Err(error) = self.create(new, Retention::UntilEnded, Some(&mut undo)) {
                self.roll_back(undo);
                return Err(LinkedBatchError { index, error });
            }
        }
        Ok(())
    }

    /// Moves `amount` from the settlement account of `account`'s ledger into `account`, at once.
    pub fn deposit(
        &mut self,
        id: TransferId,
        account: AccountId,
        amount: u64,
    ) -> Result<(), LedgerError> {
        self.with_settlement(id, account, |settlement| NewTransfer {
            id,
            debit_account: settlement,
            credit_account: account,
            amount,
            kind: TransferKind::Deposit,
            phase: Phase::Single,
        })
    }

    /// Moves `amount` from `account` to its ledger's settlement account, at once or pending.
    pub fn withdraw(
        &mut self,
        id: TransferId,
        account: AccountId,
        amount: u64,
        phase: Phase,
    ) -> Result<(), LedgerError> {
        self.with_settlement(id, account, |settlement| NewTransfer {
            id,
            debit_account: account,
            credit_account: settlement,
            amount,
            kind: TransferKind::Withdrawal,
            phase,
        })
    }

    fn with_settlement(
        &mut self,
        id: TransferId,
        account: AccountId,
        build: impl FnOnce(AccountId) -> NewTransfer,
    ) -> Result<(), LedgerError> {
        if self.transfers.contains_key(&id) {
            return Err(LedgerError::TransferExists);
        }
        let ledger = self
            .accounts
            .get(&account)
            .ok_or(LedgerError::UnknownAccount)?
            .ledger;
        let settlement = self
            .settlement_account(ledger)
            .ok_or(LedgerError::UnknownAccount)?;
        self.create(&build(settlement), Retention::Full, None)
    }

    /// Posts a pending transfer in full. Returns its final record (the only one left if the
    /// transfer was kept until it ended).
    pub fn post(&mut self, id: TransferId) -> Result<Transfer, LedgerError> {
        self.resolve(id, Resolution::Post, None)
    }

    /// Voids a pending transfer: the reserved amount returns to the debited account. Returns its
    /// final record.
    pub fn void(&mut self, id: TransferId) -> Result<Transfer, LedgerError> {
        self.resolve(id, Resolution::Void, None)
    }

    /// Applies every operation or none: the first failure undoes those before it. Creations in a
    /// batch are kept in full. Returns the final records of the transfers the batch posted or
    /// voided, in order.
    pub fn apply_linked(&mut self, ops: &[LedgerOp]) -> Result<Vec<Transfer>, LinkedBatchError> {
        let mut undo = Vec::with_capacity(ops.len() * 3);
        let mut ended = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            let applied = match op {
                LedgerOp::Create(new) => self.create(new, Retention::Full, Some(&mut undo)),
                LedgerOp::Post(id) => self
                    .resolve(*id, Resolution::Post, Some(&mut undo))
                    .map(|transfer| ended.push(transfer)),
                LedgerOp::Void(id) => self
                    .resolve(*id, Resolution::Void, Some(&mut undo))
                    .map(|transfer| ended.push(transfer)),
            };
            if let Err(error) = applied {
                self.roll_back(undo);
                return Err(LinkedBatchError { index, error });
            }
        }
        Ok(ended)
    }

    /// Moves the clock to `now` (never backwards) and expires every pending transfer whose timeout
    /// has passed: at `expires_at` exactly, as TigerBeetle does. Returns the expired transfers'
    /// final records, soonest first (for those kept until they ended, the only record left).
    pub fn advance_clock(&mut self, now: LedgerTime) -> Vec<Transfer> {
        self.clock = self.clock.max(now);
        let mut expired = Vec::new();
        while let Some(Reverse((at, id))) = self.expiries.peek().copied() {
            if at > self.clock {
                break;
            }
            self.expiries.pop();
            let due = self
                .transfers
                .get(&id)
                .is_some_and(|t| t.state == TransferState::Pending && t.expires_at == Some(at));
            if due && let Ok(transfer) = self.resolve(id, Resolution::Expire, None) {
                expired.push(transfer);
            }
        }
        expired
    }

    /// Checks the ledger-wide invariants (see [`audit`]), and that the pending count is right.
    pub fn audit(&self) -> Result<(), Violation> {
        audit::check_accounts(self.accounts.values())?;
        audit::check_pending_totals(self.accounts.values(), self.transfers.values())?;
        let counted = self
            .transfers
            .values()
            .filter(|t| t.state == TransferState::Pending)
            .count();
        if counted != self.pending {
            return Err(Violation::PendingCountMismatch {
                recorded: self.pending,
                counted,
            });
        }
        Ok(())
    }

    // === the two primitive steps ===

    fn create(
        &mut self,
        new: &NewTransfer,
        retention: Retention,
        undo: Option<&mut Vec<Undo>>,
    ) -> Result<(), LedgerError> {
        let clock = self.clock;
        let Entry::Vacant(slot) = self.transfers.entry(new.id) else {
            return Err(LedgerError::TransferExists);
        };
        let (debit, credit) =
            two_accounts(&mut self.accounts, new.debit_account, new.credit_account)?;
        if debit.ledger != credit.ledger {
            return Err(LedgerError::DifferentAssets);
        }
        if new.amount == 0 {
            return Err(LedgerError::AmountZero);
        }
        let (pending, expires_at) = match new.phase {
            Phase::Single => (false, None),
            Phase::Pending { timeout_ms: None } => (true, None),
            Phase::Pending {
                timeout_ms: Some(0),
            } => return Err(LedgerError::InvalidTimeout),
            Phase::Pending {
                timeout_ms: Some(ms),
            } => {
                let at = clock.0.checked_add(ms).ok_or(LedgerError::InvalidTimeout)?;
                (true, Some(LedgerTime(at)))
            }
        };

        let amount = u128::from(new.amount);
        let (mut debit_after, mut credit_after) = (*debit, *credit);
        if pending {
            debit_after.debits_pending = add(debit.debits_pending, amount)?;
            credit_after.credits_pending = add(credit.credits_pending, amount)?;
        } else {
            debit_after.debits_posted = add(debit.debits_posted, amount)?;
            credit_after.credits_posted = add(credit.credits_posted, amount)?;
        }
        if !debit_after.within_limit() || !credit_after.within_limit() {
            return Err(LedgerError::InsufficientBalance);
        }
        check_reportable(&credit_after)?;

        // Validation is over: from here on the transfer is applied in full.
        if let Some(undo) = undo {
            undo.push(Undo::Account(*debit));
            undo.push(Undo::Account(*credit));
            undo.push(Undo::Transfer(new.id, None));
        }
        *debit = debit_after;
        *credit = credit_after;
        if pending {
            self.pending += 1;
        } else if retention == Retention::UntilEnded {
            // Posted at once, so it has already ended: nothing to keep.
            return Ok(());
        }
        slot.insert(Transfer {
            id: new.id,
            debit_account: debit_after.id,
            credit_account: credit_after.id,
            ledger: debit_after.ledger,
            amount: new.amount,
            kind: new.kind,
            state: if pending {
                TransferState::Pending
            } else {
                TransferState::Posted
            },
            created_at: clock,
            expires_at,
            retention,
        });
        if let Some(at) = expires_at {
            self.expiries.push(Reverse((at, new.id)));
            self.compact_expiries();
        }
        Ok(())
    }

    /// Drops the expiry entries of transfers that are no longer pending, once there are more of
    /// them than pending transfers (plus a margin). Each compaction keeps at most the pending
    /// transfers and follows at least as many pushes as it scans entries, so it costs O(1)
    /// amortized per transfer created.
    fn compact_expiries(&mut self) {
        const MARGIN: usize = 1_024;
        if self.expiries.len() <= 2 * self.pending + MARGIN {
            return;
        }
        let transfers = &self.transfers;
        self.expiries.retain(|Reverse((at, id))| {
            transfers
                .get(id)
                .is_some_and(|t| t.state == TransferState::Pending && t.expires_at == Some(*at))
        });
    }

    fn resolve(
        &mut self,
        id: TransferId,
        resolution: Resolution,
        undo: Option<&mut Vec<Undo>>,
    ) -> Result<Transfer, LedgerError> {
        let clock = self.clock;
        let transfer = self
            .transfers
            .get_mut(&id)
            .ok_or(LedgerError::UnknownTransfer)?;
        match transfer.state {
            TransferState::Pending => {}
            TransferState::Posted => return Err(LedgerError::AlreadyPosted),
            TransferState::Voided => return Err(LedgerError::AlreadyVoided),
            TransferState::Expired => return Err(LedgerError::TransferExpired),
        }
        let lapsed = transfer.expires_at.is_some_and(|at| at <= clock);
        if lapsed && resolution != Resolution::Expire {
            // Unreachable while `advance_clock` is the only way the clock moves, since it sweeps
            // everything due; kept so that a post can never beat its own expiry.
            return Err(LedgerError::TransferExpired);
        }

        let (debit, credit) = two_accounts(
            &mut self.accounts,
            transfer.debit_account,
            transfer.credit_account,
        )?;
        let amount = u128::from(transfer.amount);
        let (mut debit_after, mut credit_after) = (*debit, *credit);
        // A pending transfer's amount is part of both pending totals; failing here would mean the
        // ledger is corrupt, which the audit reports.
        debit_after.debits_pending = sub(debit.debits_pending, amount)?;
        credit_after.credits_pending = sub(credit.credits_pending, amount)?;
        let state = match resolution {
            Resolution::Post => {
                debit_after.debits_posted = add(debit.debits_posted, amount)?;
                credit_after.credits_posted = add(credit.credits_posted, amount)?;
                TransferState::Posted
            }
            Resolution::Void => TransferState::Voided,
            Resolution::Expire => TransferState::Expired,
        };

        if let Some(undo) = undo {
            undo.push(Undo::Account(*debit));
            undo.push(Undo::Account(*credit));
            undo.push(Undo::Transfer(id, Some(*transfer)));
        }
        *debit = debit_after;
        *credit = credit_after;
        transfer.state = state;
        let ended = *transfer;
        // At least this transfer was counted; saturating keeps a corrupt count for the audit.
        self.pending = self.pending.saturating_sub(1);
        if ended.retention == Retention::UntilEnded {
            self.transfers.remove(&id);
        }
        Ok(ended)
    }

    fn roll_back(&mut self, undo: Vec<Undo>) {
        for step in undo.into_iter().rev() {
            match step {
                Undo::Account(account) => {
                    self.accounts.insert(account.id, account);
                }
                Undo::Transfer(id, previous) => {
                    let replaced = match previous {
                        Some(previous) => self.transfers.insert(id, previous),
                        None => self.transfers.remove(&id),
                    };
                    // Restoring a pending transfer (or dropping one a step created) moves the
                    // count back with it.
                    self.pending = (self.pending + usize::from(is_pending(previous.as_ref())))
                        .saturating_sub(usize::from(is_pending(replaced.as_ref())));
                }
            }
        }
    }
}

/// Both accounts of a transfer, mutably: `UnknownAccount` when either is missing, `SameAccounts`
/// when they are one.
fn two_accounts(
    accounts: &mut HashMap<AccountId, Account>,
    debit: AccountId,
    credit: AccountId,
) -> Result<(&mut Account, &mut Account), LedgerError> {
    if debit == credit {
        return Err(if accounts.contains_key(&debit) {
            LedgerError::SameAccounts
        } else {
            LedgerError::UnknownAccount
        });
    }
    match accounts.get_disjoint_mut([&debit, &credit]) {
        [Some(debit), Some(credit)] => Ok((debit, credit)),
        _ => Err(LedgerError::UnknownAccount),
    }
}

fn is_pending(transfer: Option<&Transfer>) -> bool {
    transfer.is_some_and(|t| t.state == TransferState::Pending)
}

fn add(total: u128, amount: u128) -> Result<u128, LedgerError> {
    total.checked_add(amount).ok_or(LedgerError::Overflow)
}

fn sub(total: u128, amount: u128) -> Result<u128, LedgerError> {
    total.checked_sub(amount).ok_or(LedgerError::Overflow)
}

/// A liquidity account's balance must stay reportable as the admin API's `UInt64`, even after all
/// its pending credits post.
fn check_reportable(account: &Account) -> Result<(), LedgerError> {
    if account.kind.limit() != BalanceLimit::DebitsMustNotExceedCredits {
        return Ok(());
    }
    let potential =
        add(account.credits_posted, account.credits_pending)?.saturating_sub(account.debits_posted);
    if potential > u128::from(u64::MAX) {
        return Err(LedgerError::Overflow);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
