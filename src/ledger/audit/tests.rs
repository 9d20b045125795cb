//! Each invariant is handed a state that breaks it, so none of them can pass vacuously.

use super::*;
use crate::ledger::types::{AccountKind, LedgerTime, Retention, TransferKind};

const USD: LedgerId = LedgerId(1);

fn account(kind: AccountKind) -> Account {
    Account::new(AccountId::random(), USD, kind)
}

/// A consistent pair: 100 deposited from settlement into a peer, 30 of it reserved for withdrawal.
fn consistent() -> (Vec<Account>, Vec<Transfer>) {
    let mut settlement = account(AccountKind::Settlement);
    let mut peer = account(AccountKind::PeerLiquidity);
    settlement.debits_posted = 100;
    peer.credits_posted = 100;
    peer.debits_pending = 30;
    settlement.credits_pending = 30;
    let transfer = |debit: &Account, credit: &Account, amount, state| Transfer {
        id: TransferId::random(),
        debit_account: debit.id,
        credit_account: credit.id,
        ledger: USD,
        amount,
        kind: TransferKind::Transfer,
        state,
        created_at: LedgerTime(0),
        expires_at: None,
        retention: Retention::Full,
    };
    let transfers = vec![
        transfer(&settlement, &peer, 100, TransferState::Posted),
        transfer(&peer, &settlement, 30, TransferState::Pending),
        transfer(&peer, &settlement, 70, TransferState::Voided),
    ];
    (vec![settlement, peer], transfers)
}

#[test]
fn a_consistent_state_passes() {
    let (accounts, transfers) = consistent();
    check_accounts(&accounts).unwrap();
    check_pending_totals(&accounts, &transfers).unwrap();
}

#[test]
fn unbalanced_pending_totals_are_caught() {
    let (mut accounts, _) = consistent();
    accounts[1].debits_pending += 1;
    accounts[1].credits_posted += 1;
    assert!(matches!(
        check_accounts(&accounts),
        Err(Violation::UnbalancedPending {
            debits: 31,
            credits: 30,
            ..
        })
    ));
}

#[test]
fn unbalanced_posted_totals_are_caught() {
    let (mut accounts, _) = consistent();
    accounts[1].credits_posted += 5;
    assert!(matches!(
        check_accounts(&accounts),
        Err(Violation::UnbalancedPosted {
            debits: 100,
            credits: 105,
            ..
        })
    ));
}

#[test]
fn an_overdrawn_liquidity_account_is_caught() {
    let (mut accounts, _) = consistent();
    // The peer pays 71 to another peer while 30 of its 100 are reserved: 101 debits, 100 credits.
    let mut other = account(AccountKind::PeerLiquidity);
    other.credits_posted = 71;
    accounts[1].debits_posted = 71;
    accounts.push(other);
    assert_eq!(
        check_accounts(&accounts),
        Err(Violation::LimitExceeded {
            account: accounts[1].id
        })
    );
}

#[test]
fn an_overpaid_settlement_account_is_caught() {
    let (mut accounts, _) = consistent();
    // 71 withdrawn on top of the 30 reserved, from the 100 deposited.
    accounts[0].credits_posted = 71;
    accounts[1].debits_posted = 71;
    assert_eq!(
        check_accounts(&accounts),
        Err(Violation::LimitExceeded {
            account: accounts[0].id
        })
    );
}

#[test]
fn pending_totals_that_disagree_with_pending_transfers_are_caught() {
    let (accounts, mut transfers) = consistent();
    // The reservation was voided but the accounts still hold it: a void that never released money.
    transfers[1].state = TransferState::Voided;
    assert!(matches!(
        check_pending_totals(&accounts, &transfers),
        Err(Violation::PendingTotalsMismatch {
            recorded_credits: 30,
            expected_credits: 0,
            ..
        })
    ));
}

#[test]
fn a_transfer_to_a_missing_account_is_caught() {
    let (accounts, mut transfers) = consistent();
    transfers[1].credit_account = AccountId::random();
    assert!(matches!(
        check_pending_totals(&accounts, &transfers),
        Err(Violation::DanglingTransfer { .. })
    ));
}

#[test]
fn a_transfer_that_ends_twice_is_caught() {
    let id = TransferId::random();
    let before = HashMap::from([(id, TransferState::Posted)]);
    let voided_after_post = HashMap::from([(id, TransferState::Voided)]);
    assert!(matches!(
        check_resolutions(&before, &voided_after_post),
        Err(Violation::EndedTwice {
            first: TransferState::Posted,
            then: TransferState::Voided,
            ..
        })
    ));
    let reopened = HashMap::from([(id, TransferState::Pending)]);
    assert!(check_resolutions(&before, &reopened).is_err());
    assert_eq!(
        check_resolutions(&before, &HashMap::new()),
        Err(Violation::TransferLost { transfer: id })
    );
    // Ending once is fine.
    let pending = HashMap::from([(id, TransferState::Pending)]);
    check_resolutions(&pending, &voided_after_post).unwrap();
}
