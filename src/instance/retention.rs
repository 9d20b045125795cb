//! Bounded retention of finished payment records, so that an instance driven for hours (the
//! simulator's `peerlab run`: hundreds of thousands of payments) holds flat memory instead of
//! refusing new payments at the caps.
//!
//! A record is *settled* when nothing more can happen to it and it holds no money:
//! - an incoming payment COMPLETED or EXPIRED whose account is empty (what it received was
//!   withdrawn and the withdrawal posted, or it received nothing);
//! - an outgoing payment COMPLETED or FAILED whose account is empty (what it did not spend was
//!   withdrawn and posted, or it spent everything);
//! - a quote that expired or that an outgoing payment used (the payment keeps its own copy).
//!
//! An account is empty when nothing is pending on it and as much was posted out as in (see
//! [`crate::ledger::Account::is_empty`]): a two-phase withdrawal that is still pending may be
//! voided and put the money back, so it does not settle the record; its post does.
//!
//! Settledness is noted where it can change (an expiry, a finish, a withdrawal made single-phase
//! or posted, the last in-flight packet of a finished outgoing payment), each a lookup or two.
//! Settled records queue up in the order they settled; beyond [`SETTLED_RETENTION`] of a kind the
//! oldest is forgotten: removed from every index, its ledger account closed (which the ledger
//! refuses unless the account is empty, so money is never forgotten with its record) and its
//! ledger transfers kept in full (funding deposit, withdrawal) forgotten. It is checked again
//! when its turn comes; one that is not settled any more leaves the queue, and the change that
//! settles it again queues it again. Reads of a forgotten record answer as for an unknown one.
//!
//! Records that are not settled (open, or holding money) are never forgotten, and still count
//! against the caps (`MAX_INCOMING_PAYMENTS`, `MAX_OUTGOING_PAYMENTS`, `MAX_QUOTES`).

use std::collections::{HashMap, HashSet, VecDeque};

use uuid::Uuid;

use super::State;
use super::incoming_payments::IncomingPaymentState;
use super::outgoing_payments::OutgoingPaymentState;
use crate::ledger::{AccountId, LedgerError, TransferId};

/// How many settled records of each kind (incoming payments, outgoing payments, quotes) an
/// instance keeps readable. 10,000 keeps a finished payment readable long after the operator
/// and its tests look at it (at 100 payments/s, its last 100 s; far longer at the rates a person
/// or a feature file drives), while costing a few tens of MB at most per instance (about 2 KB a
/// payment with its account and transfers) however long the run. It is a tenth of the caps on
/// records that are not settled, so settled ones never dominate memory.
pub const SETTLED_RETENTION: usize = 10_000;

/// How many settled records of each kind an instance keeps: [`SETTLED_RETENTION`] unless the
/// instance was made with another (tests lower it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SettledLimit(pub(super) usize);

impl Default for SettledLimit {
    fn default() -> Self {
        Self(SETTLED_RETENTION)
    }
}

/// Settled records, oldest settled first, each at most once.
#[derive(Debug, Default)]
pub(super) struct SettledQueue {
    order: VecDeque<Uuid>,
    queued: HashSet<Uuid>,
}

impl SettledQueue {
    /// Queues `id`; false when it was queued already.
    pub(super) fn push(&mut self, id: Uuid) -> bool {
        let new = self.queued.insert(id);
        if new {
            self.order.push_back(id);
        }
        new
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    pub(super) fn pop_oldest(&mut self) -> Option<Uuid> {
        let id = self.order.pop_front()?;
        self.queued.remove(&id);
        Some(id)
    }
}

/// Each wallet address's records (ids) in creation order, for its pages: a page costs that
/// wallet address's records, not the instance's. A forgotten record's id is not removed at once
/// (finding it in the list would cost the list): it is skipped when read, and once half of a
/// list may be forgotten ids one pass drops them all, so forgetting costs O(1) amortized and a
/// list stays within twice the records kept.
#[derive(Debug, Default)]
pub(super) struct WalletLists {
    lists: HashMap<Uuid, WalletList>,
}

#[derive(Debug, Default)]
struct WalletList {
    ids: Vec<Uuid>,
    forgotten: usize,
}

impl WalletLists {
    pub(super) fn push(&mut self, wallet_address_id: Uuid, id: Uuid) {
        self.lists
            .entry(wallet_address_id)
            .or_default()
            .ids
            .push(id);
    }

    /// Notes that one of the wallet address's records was forgotten; `kept` says whether a
    /// record is still kept.
    pub(super) fn forgotten(&mut self, wallet_address_id: Uuid, kept: impl Fn(&Uuid) -> bool) {
        let Some(list) = self.lists.get_mut(&wallet_address_id) else {
            return;
        };
        list.forgotten += 1;
        if list.forgotten * 2 > list.ids.len() {
            list.ids.retain(|id| kept(id));
            list.forgotten = 0;
            if list.ids.is_empty() {
                self.lists.remove(&wallet_address_id);
            }
        }
    }

    /// The wallet address's kept records, oldest first.
    pub(super) fn ids(&self, wallet_address_id: Uuid, kept: impl Fn(&Uuid) -> bool) -> Vec<Uuid> {
        self.lists
            .get(&wallet_address_id)
            .map(|list| list.ids.iter().copied().filter(|id| kept(id)).collect())
            .unwrap_or_default()
    }

    /// How many ids are held, over all wallet addresses.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lists.values().map(|list| list.ids.len()).sum()
    }
}

impl State {
    /// The account `id` exists and is empty (nothing pending, as much out as in).
    fn account_is_empty(&self, id: Uuid) -> bool {
        self.accounting
            .ledger()
            .account(AccountId(id))
            .is_some_and(|account| account.is_empty())
    }

    fn incoming_payment_settled(&self, id: Uuid) -> bool {
        self.incoming_payments.get(id).is_some_and(|payment| {
            matches!(
                payment.state,
                IncomingPaymentState::Completed | IncomingPaymentState::Expired
            )
        }) && self.account_is_empty(id)
    }

    fn outgoing_payment_settled(&self, id: Uuid) -> bool {
        self.outgoing_payments.get(id).is_some_and(|payment| {
            matches!(
                payment.state,
                OutgoingPaymentState::Completed | OutgoingPaymentState::Failed
            )
        }) && self.account_is_empty(id)
    }

    /// Something that may settle a payment happened to account `account` (a withdrawal posted):
    /// if it is a payment's and the payment is settled now, it is queued.
    pub(super) fn payment_account_changed(&mut self, account: AccountId) {
        self.note_incoming_payment(account.0);
        self.note_outgoing_payment(account.0);
    }

    /// Queues incoming payment `id` if it is settled, forgetting the oldest settled ones beyond
    /// the retention.
    pub(super) fn note_incoming_payment(&mut self, id: Uuid) {
        if self.incoming_payment_settled(id) && self.incoming_payments.settled.push(id) {
            self.evict_incoming_payments();
        }
    }

    /// Queues outgoing payment `id` if it is settled, forgetting the oldest settled ones beyond
    /// the retention.
    pub(super) fn note_outgoing_payment(&mut self, id: Uuid) {
        if self.outgoing_payment_settled(id) && self.outgoing_payments.settled.push(id) {
            self.evict_outgoing_payments();
        }
    }

    fn evict_incoming_payments(&mut self) {
        while self.incoming_payments.settled.len() > self.settled_limit.0 {
            let Some(id) = self.incoming_payments.settled.pop_oldest() else {
                break;
            };
            if self.incoming_payment_settled(id) {
                self.forget_incoming_payment(id);
            }
        }
    }

    fn evict_outgoing_payments(&mut self) {
        while self.outgoing_payments.settled.len() > self.settled_limit.0 {
            let Some(id) = self.outgoing_payments.settled.pop_oldest() else {
                break;
            };
            if self.outgoing_payment_settled(id) {
                self.forget_outgoing_payment(id);
            }
        }
    }

    fn forget_incoming_payment(&mut self, id: Uuid) {
        let Some(payment) = self.incoming_payments.get(id) else {
            return;
        };
        let withdrawal = payment.closing_event_id;
        // The account first: the ledger refuses to close one that is not empty, and then nothing
        // is forgotten, so the record's money stays readable and withdrawable.
        if self.accounting.close_account(AccountId(id)).is_err() {
            return;
        }
        // Its withdrawal, made under the id of its completed or expired event (none when it
        // received nothing).
        self.forget_payment_transfer(id, withdrawal);
        self.incoming_payments.forget(id);
    }

    fn forget_outgoing_payment(&mut self, id: Uuid) {
        let Some(payment) = self.outgoing_payments.get(id) else {
            return;
        };
        let (funding, withdrawal) = (payment.created_event, payment.finished_event);
        if self.accounting.close_account(AccountId(id)).is_err() {
            return;
        }
        // The funding deposit (under the created event's id) and the withdrawal of what it did
        // not spend (under the completed or failed event's id, when there was anything left).
        self.forget_payment_transfer(id, Some(funding));
        self.forget_payment_transfer(id, withdrawal);
        self.outgoing_payments.forget(id);
    }

    /// Forgets the transfer with id `transfer` if it moved money into or out of payment
    /// `payment`'s account: event ids are public (`webhookEvents`), so an operator could have
    /// used one as the id of an unrelated deposit, which must stay.
    fn forget_payment_transfer(&mut self, payment: Uuid, transfer: Option<Uuid>) {
        let Some(id) = transfer.and_then(|uuid| TransferId::from_uuid(uuid).ok()) else {
            return;
        };
        let account = AccountId(payment);
        let ours = self
            .accounting
            .ledger()
            .transfer(id)
            .is_some_and(|t| t.debit_account == account || t.credit_account == account);
        if ours {
            // The account was empty, so nothing of it is pending: forgetting cannot be refused.
            let forgotten: Result<(), LedgerError> = self.accounting.forget_transfer(id);
            debug_assert!(forgotten.is_ok(), "{forgotten:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settled_queue_keeps_each_id_once_oldest_first() {
        let mut queue = SettledQueue::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(queue.push(a));
        assert!(queue.push(b));
        assert!(!queue.push(a));
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop_oldest(), Some(a));
        // Out of the queue, it may come back.
        assert!(queue.push(a));
        assert_eq!(queue.pop_oldest(), Some(b));
        assert_eq!(queue.pop_oldest(), Some(a));
        assert_eq!(queue.pop_oldest(), None);
    }

    #[test]
    fn wallet_lists_drop_forgotten_ids_in_batches_and_keep_order() {
        let mut lists = WalletLists::default();
        let wallet = Uuid::new_v4();
        let ids: Vec<Uuid> = (0..10).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            lists.push(wallet, *id);
        }
        let mut kept: HashSet<Uuid> = ids.iter().copied().collect();
        for (n, id) in ids.iter().take(6).enumerate() {
            kept.remove(id);
            lists.forgotten(wallet, |id| kept.contains(id));
            // Never more than twice what is kept (plus the one just forgotten).
            assert!(
                lists.len() <= 2 * kept.len() + 1,
                "after {n}: {}",
                lists.len()
            );
            let expected: Vec<Uuid> = ids.iter().copied().filter(|id| kept.contains(id)).collect();
            assert_eq!(lists.ids(wallet, |id| kept.contains(id)), expected);
        }
        for id in &ids[6..] {
            kept.remove(id);
            lists.forgotten(wallet, |id| kept.contains(id));
        }
        assert_eq!(lists.len(), 0);
        assert!(lists.ids(wallet, |_| true).is_empty());
    }
}
