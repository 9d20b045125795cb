//! What an instance remembers of its transfers for `accountingTransfers`, in memory that does not
//! grow with the number of packets: per account, the ids of the admin-made transfers (deposits,
//! withdrawals, a peer's initial liquidity; the ledger keeps those in full), the latest
//! [`RECENT_PACKET_TRANSFERS`] packet transfers that ended, and running totals of every packet
//! transfer that ended. Reading an account's transfers costs its admin-made transfers plus the
//! answer, never the history.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use crate::ledger::{
    AccountId, Ledger, LedgerTime, Transfer, TransferId, TransferKind, TransferState,
};

/// How many ended packet transfers each account keeps for `accountingTransfers` (debits and
/// credits together, the latest to end).
pub const RECENT_PACKET_TRANSFERS: usize = 100;

/// One transfer as the admin API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferRecord {
    pub id: Uuid,
    pub debit_account: Uuid,
    pub credit_account: Uuid,
    /// The ledger (asset) number the transfer moved money in.
    pub ledger: u32,
    pub amount: u64,
    pub kind: TransferRecordKind,
    pub state: TransferRecordState,
    pub created_at: SystemTime,
    pub expires_at: Option<SystemTime>,
}

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferRecordKind {
    Deposit,
    Withdrawal,
    /// Between two accounts: a packet's.
    Transfer,
}

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferRecordState {
    Pending,
    Posted,
    Voided,
    Expired,
}

/// Running totals of the packet transfers that ended on one side (debits or credits) of an
/// account, since the instance started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketTotals {
    /// Fulfilled packets: their transfers were posted.
    pub posted_count: u64,
    pub posted_amount: u128,
    /// Rejected or failed packets: their transfers were voided.
    pub voided_count: u64,
    /// Packets whose transfer lapsed before a reply came.
    pub expired_count: u64,
}

impl PacketTotals {
    fn count(&mut self, transfer: &Transfer) {
        // Saturating: reaching u64::MAX packets, or u128::MAX in amounts, would take longer than
        // any run.
        match transfer.state {
            TransferState::Posted => {
                self.posted_count = self.posted_count.saturating_add(1);
                self.posted_amount = self
                    .posted_amount
                    .saturating_add(u128::from(transfer.amount));
            }
            TransferState::Voided => self.voided_count = self.voided_count.saturating_add(1),
            TransferState::Expired => self.expired_count = self.expired_count.saturating_add(1),
            TransferState::Pending => {}
        }
    }
}

/// An account's transfers as `accountingTransfers` answers them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountTransfers {
    /// Transfers that debited the account, oldest first, at most the limit asked for.
    pub debits: Vec<TransferRecord>,
    /// Transfers that credited the account, oldest first, at most the limit asked for.
    pub credits: Vec<TransferRecord>,
    /// Every packet transfer that ended debiting the account.
    pub packet_debits: PacketTotals,
    /// Every packet transfer that ended crediting the account.
    pub packet_credits: PacketTotals,
}

/// The per-account view, kept in step with the ledger by [`super::accounting::Accounting`].
#[derive(Debug, Default)]
pub(super) struct TransferHistory {
    accounts: HashMap<AccountId, AccountHistory>,
}

#[derive(Debug, Default)]
struct AccountHistory {
    /// Admin-made transfers that debited or credited the account, in creation order. Their records
    /// are read from the ledger, which keeps them in full, so they show their current state.
    /// Forgotten ones (a forgotten payment's) are skipped when read and dropped in batches.
    admin_transfers: Vec<TransferId>,
    /// How many ids in `admin_transfers` may name forgotten transfers.
    forgotten_admin_transfers: usize,
    /// The latest packet transfers to end on this account, in the order they ended.
    recent_packets: VecDeque<Transfer>,
    packet_debits: PacketTotals,
    packet_credits: PacketTotals,
}

impl TransferHistory {
    /// Notes an admin-made transfer (kept in full by the ledger) on both its accounts.
    pub(super) fn admin_transfer(&mut self, transfer: &Transfer) {
        for account in [transfer.debit_account, transfer.credit_account] {
            self.accounts
                .entry(account)
                .or_default()
                .admin_transfers
                .push(transfer.id);
        }
    }

    /// Drops everything remembered of a closed account.
    pub(super) fn forget_account(&mut self, account: AccountId) {
        self.accounts.remove(&account);
    }

    /// Notes that the ledger forgot an admin-made transfer; `kept` says whether the ledger still
    /// holds a transfer. Removing its id from a long list (the settlement account's lists every
    /// deposit and withdrawal) would cost the list each time; instead, once half the list may
    /// name forgotten transfers, one pass drops them all: O(1) amortized per forgotten transfer,
    /// and the list stays within twice what the ledger keeps.
    pub(super) fn admin_transfer_forgotten(
        &mut self,
        transfer: &Transfer,
        kept: impl Fn(TransferId) -> bool,
    ) {
        for account in [transfer.debit_account, transfer.credit_account] {
            let Some(history) = self.accounts.get_mut(&account) else {
                continue;
            };
            history.forgotten_admin_transfers += 1;
            if history.forgotten_admin_transfers * 2 > history.admin_transfers.len() {
                history.admin_transfers.retain(|id| kept(*id));
                history.forgotten_admin_transfers = 0;
            }
        }
    }

    /// Notes a packet transfer that has ended (and left the ledger) on both its accounts.
    pub(super) fn packet_ended(&mut self, transfer: &Transfer) {
        let debit = self.accounts.entry(transfer.debit_account).or_default();
        debit.packet_debits.count(transfer);
        debit.remember(transfer);
        let credit = self.accounts.entry(transfer.credit_account).or_default();
        credit.packet_credits.count(transfer);
        credit.remember(transfer);
    }

    /// The account's transfers: for each side, the admin-made transfers and the latest ended
    /// packet transfers merged oldest first (by creation time), the first `limit` of them.
    pub(super) fn account(
        &self,
        ledger: &Ledger,
        account: AccountId,
        limit: usize,
    ) -> AccountTransfers {
        let Some(history) = self.accounts.get(&account) else {
            return AccountTransfers::default();
        };
        let side = |debits: bool| {
            let on_side = |t: &&Transfer| {
                if debits {
                    t.debit_account == account
                } else {
                    t.credit_account == account
                }
            };
            let admin = history
                .admin_transfers
                .iter()
                .filter_map(|id| ledger.transfer(*id))
                .filter(on_side);
            let mut packets: Vec<&Transfer> =
                history.recent_packets.iter().filter(on_side).collect();
            // They are in the order they ended; a stable sort keeps that order among equal times.
            packets.sort_by_key(|t| t.created_at);
            merge_oldest_first(admin, packets, limit)
        };
        AccountTransfers {
            debits: side(true),
            credits: side(false),
            packet_debits: history.packet_debits,
            packet_credits: history.packet_credits,
        }
    }
}

#[cfg(test)]
impl TransferHistory {
    /// How many accounts have a history.
    pub(super) fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// How many admin-made transfer ids are held, over all accounts.
    pub(super) fn admin_transfer_ids(&self) -> usize {
        self.accounts
            .values()
            .map(|a| a.admin_transfers.len())
            .sum()
    }

    /// How many packet records are held, over all accounts.
    pub(super) fn packet_records(&self) -> usize {
        self.accounts.values().map(|a| a.recent_packets.len()).sum()
    }
}

impl AccountHistory {
    fn remember(&mut self, transfer: &Transfer) {
        if self.recent_packets.len() == RECENT_PACKET_TRANSFERS {
            self.recent_packets.pop_front();
        }
        self.recent_packets.push_back(*transfer);
    }
}

/// The first `limit` of two lists that are each oldest first, merged; on equal times admin-made
/// transfers come first.
fn merge_oldest_first<'a>(
    admin: impl Iterator<Item = &'a Transfer>,
    packets: Vec<&'a Transfer>,
    limit: usize,
) -> Vec<TransferRecord> {
    let mut admin = admin.peekable();
    let mut packets = packets.into_iter().peekable();
    let mut merged = Vec::with_capacity(limit.min(RECENT_PACKET_TRANSFERS));
    while merged.len() < limit {
        let next = match (admin.peek(), packets.peek()) {
            (Some(a), Some(p)) if p.created_at < a.created_at => packets.next(),
            (Some(_), _) => admin.next(),
            (None, _) => packets.next(),
        };
        let Some(transfer) = next else { break };
        merged.push(record(transfer));
    }
    merged
}

fn record(transfer: &Transfer) -> TransferRecord {
    TransferRecord {
        id: transfer.id.uuid(),
        debit_account: transfer.debit_account.0,
        credit_account: transfer.credit_account.0,
        ledger: transfer.ledger.0,
        amount: transfer.amount,
        kind: match transfer.kind {
            TransferKind::Deposit => TransferRecordKind::Deposit,
            TransferKind::Withdrawal => TransferRecordKind::Withdrawal,
            TransferKind::Transfer => TransferRecordKind::Transfer,
        },
        state: match transfer.state {
            TransferState::Pending => TransferRecordState::Pending,
            TransferState::Posted => TransferRecordState::Posted,
            TransferState::Voided => TransferRecordState::Voided,
            TransferState::Expired => TransferRecordState::Expired,
        },
        created_at: system_time(transfer.created_at),
        expires_at: transfer.expires_at.map(system_time),
    }
}

/// The ledger's clock counts milliseconds since the Unix epoch (see `instance::now`).
fn system_time(at: LedgerTime) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(at.0))
        .unwrap_or(UNIX_EPOCH)
}
