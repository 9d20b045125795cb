//! The instance's ledger and its bounded view of transfers, kept in step: every transfer the
//! instance creates or ends goes through here, so admin-made transfers are indexed and packets'
//! transfers are counted and remembered (the latest few) as they leave the ledger.

use super::history::{AccountTransfers, TransferHistory};
use crate::ledger::{
    AccountId, AccountKind, Ledger, LedgerError, LedgerId, LedgerTime, NewTransfer, Phase,
    Retention, Transfer, TransferId, Violation,
};

#[derive(Debug, Default)]
pub(super) struct Accounting {
    ledger: Ledger,
    history: TransferHistory,
}

impl Accounting {
    /// The ledger, to read: balances, accounts, one transfer.
    pub(super) fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub(super) fn create_account(
        &mut self,
        id: AccountId,
        ledger: LedgerId,
        kind: AccountKind,
    ) -> Result<(), LedgerError> {
        self.ledger.create_account(id, ledger, kind)
    }

    /// Closes an empty account (a forgotten payment's, see [`crate::ledger::Ledger::close_account`])
    /// and drops what the history remembered of it.
    pub(super) fn close_account(&mut self, id: AccountId) -> Result<(), LedgerError> {
        self.ledger.close_account(id)?;
        self.history.forget_account(id);
        Ok(())
    }

    /// Forgets an ended transfer kept in full (a forgotten payment's deposit or withdrawal), and
    /// its place in its accounts' history.
    pub(super) fn forget_transfer(&mut self, id: TransferId) -> Result<(), LedgerError> {
        let transfer = self.ledger.forget_transfer(id)?;
        let ledger = &self.ledger;
        self.history
            .admin_transfer_forgotten(&transfer, |id| ledger.transfer(id).is_some());
        Ok(())
    }

    /// A deposit made through the admin API (or a peer's initial liquidity), kept in full.
    pub(super) fn deposit(
        &mut self,
        id: TransferId,
        account: AccountId,
        amount: u64,
    ) -> Result<(), LedgerError> {
        self.ledger.deposit(id, account, amount)?;
        self.index_admin_transfer(id);
        Ok(())
    }

    /// A withdrawal made through the admin API, kept in full.
    pub(super) fn withdraw(
        &mut self,
        id: TransferId,
        account: AccountId,
        amount: u64,
        phase: Phase,
    ) -> Result<(), LedgerError> {
        self.ledger.withdraw(id, account, amount, phase)?;
        self.index_admin_transfer(id);
        Ok(())
    }

    fn index_admin_transfer(&mut self, id: TransferId) {
        if let Some(transfer) = self.ledger.transfer(id) {
            self.history.admin_transfer(transfer);
        }
    }

    /// A packet's reservation: pending, kept by the ledger only until it ends.
    pub(super) fn reserve_packet(&mut self, new: NewTransfer) -> Result<(), LedgerError> {
        self.ledger.create_transfer_until_ended(new)
    }

    /// A packet's reservation across assets: several pending transfers, all or none.
    pub(super) fn reserve_packet_legs(&mut self, news: &[NewTransfer]) -> Result<(), LedgerError> {
        self.ledger
            .create_transfers_until_ended(news)
            .map_err(|failed| failed.error)
    }

    /// Posts and returns the posted transfer, for whoever reacts to the accounts it moved (the
    /// low-liquidity alerts).
    pub(super) fn post(&mut self, id: TransferId) -> Result<Transfer, LedgerError> {
        let transfer = self.ledger.post(id)?;
        self.ended(&transfer);
        Ok(transfer)
    }

    /// Voids and returns the voided transfer.
    pub(super) fn void(&mut self, id: TransferId) -> Result<Transfer, LedgerError> {
        let transfer = self.ledger.void(id)?;
        self.ended(&transfer);
        Ok(transfer)
    }

    /// Moves the ledger's clock, expiring what is due. Returns the expired transfers.
    pub(super) fn advance_clock(&mut self, now: LedgerTime) -> Vec<Transfer> {
        let expired = self.ledger.advance_clock(now);
        for transfer in &expired {
            self.ended(transfer);
        }
        expired
    }

    /// A transfer kept in full stays readable in the ledger; one that left it (a packet's) is
    /// remembered here.
    fn ended(&mut self, transfer: &Transfer) {
        if transfer.retention == Retention::UntilEnded {
            self.history.packet_ended(transfer);
        }
    }

    pub(super) fn account_transfers(&self, account: AccountId, limit: usize) -> AccountTransfers {
        self.history.account(&self.ledger, account, limit)
    }

    pub(super) fn audit(&self) -> Result<(), Violation> {
        self.ledger.audit()
    }

    #[cfg(test)]
    pub(super) fn history(&self) -> &TransferHistory {
        &self.history
    }
}
