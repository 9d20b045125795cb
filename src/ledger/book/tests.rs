use super::*;

const USD: LedgerId = LedgerId(1);
const EUR: LedgerId = LedgerId(2);

/// A ledger with USD's asset accounts and two USD peers (alice funded with 100, bob empty), and
/// EUR's asset accounts.
struct Fixture {
    ledger: Ledger,
    usd_settlement: AccountId,
    alice: AccountId,
    bob: AccountId,
    eur_peer: AccountId,
}

fn fixture() -> Fixture {
    let mut ledger = Ledger::starting_at(LedgerTime(1_000));
    let usd_settlement = AccountId::random();
    let alice = AccountId::random();
    let bob = AccountId::random();
    let eur_peer = AccountId::random();
    ledger
        .create_account(usd_settlement, USD, AccountKind::Settlement)
        .unwrap();
    ledger
        .create_account(AccountId::random(), USD, AccountKind::AssetLiquidity)
        .unwrap();
    ledger
        .create_account(alice, USD, AccountKind::PeerLiquidity)
        .unwrap();
    ledger
        .create_account(bob, USD, AccountKind::PeerLiquidity)
        .unwrap();
    ledger
        .create_account(AccountId::random(), EUR, AccountKind::Settlement)
        .unwrap();
    ledger
        .create_account(eur_peer, EUR, AccountKind::PeerLiquidity)
        .unwrap();
    ledger.deposit(TransferId::random(), alice, 100).unwrap();
    Fixture {
        ledger,
        usd_settlement,
        alice,
        bob,
        eur_peer,
    }
}

/// Everything observable about a ledger, in a comparable order.
fn snapshot(ledger: &Ledger) -> (Vec<Account>, Vec<Transfer>, LedgerTime) {
    let mut accounts: Vec<Account> = ledger.accounts().copied().collect();
    accounts.sort_by_key(|a| a.id);
    let mut transfers: Vec<Transfer> = ledger.transfers().copied().collect();
    transfers.sort_by_key(|t| t.id);
    (accounts, transfers, ledger.now())
}

fn pay(id: TransferId, from: AccountId, to: AccountId, amount: u64, phase: Phase) -> NewTransfer {
    NewTransfer {
        id,
        debit_account: from,
        credit_account: to,
        amount,
        kind: TransferKind::Transfer,
        phase,
    }
}

const PENDING: Phase = Phase::Pending { timeout_ms: None };

#[test]
fn deposits_and_single_phase_withdrawals_move_settlement() {
    let mut f = fixture();
    assert_eq!(f.ledger.balance(f.alice), Ok(100));
    assert_eq!(f.ledger.balance(f.usd_settlement), Ok(100));
    f.ledger
        .withdraw(TransferId::random(), f.alice, 30, Phase::Single)
        .unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(70));
    assert_eq!(f.ledger.balance(f.usd_settlement), Ok(70));
    f.ledger.audit().unwrap();
}

#[test]
fn two_phase_withdrawal_reserves_then_posts_or_voids() {
    // Rafiki's psql createWithdrawal test, with 100 in place of 10.
    let mut f = fixture();
    let posted = TransferId::random();
    f.ledger.withdraw(posted, f.alice, 10, PENDING).unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(90));
    assert_eq!(
        f.ledger.account(f.usd_settlement).unwrap().debits_posted,
        100
    );
    f.ledger.post(posted).unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(90));
    assert_eq!(f.ledger.balance(f.usd_settlement), Ok(90));
    assert_eq!(
        f.ledger.transfer(posted).unwrap().state,
        TransferState::Posted
    );

    let voided = TransferId::random();
    f.ledger.withdraw(voided, f.alice, 20, PENDING).unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(70));
    f.ledger.void(voided).unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(90));
    assert_eq!(
        f.ledger.transfer(voided).unwrap().state,
        TransferState::Voided
    );
    f.ledger.audit().unwrap();
}

#[test]
fn pending_credits_do_not_count_until_posted() {
    let mut f = fixture();
    let id = TransferId::random();
    f.ledger
        .create_transfer(pay(id, f.alice, f.bob, 60, PENDING))
        .unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(40));
    assert_eq!(f.ledger.balance(f.bob), Ok(0));
    f.ledger.post(id).unwrap();
    assert_eq!(f.ledger.balance(f.bob), Ok(60));
    f.ledger.audit().unwrap();
}

#[test]
fn a_pending_transfer_ends_exactly_once() {
    let mut f = fixture();
    let posted = TransferId::random();
    f.ledger.withdraw(posted, f.alice, 1, PENDING).unwrap();
    f.ledger.post(posted).unwrap();
    let after_post = snapshot(&f.ledger);
    assert_eq!(f.ledger.post(posted), Err(LedgerError::AlreadyPosted));
    assert_eq!(f.ledger.void(posted), Err(LedgerError::AlreadyPosted));

    let voided = TransferId::random();
    f.ledger.withdraw(voided, f.alice, 1, PENDING).unwrap();
    f.ledger.void(voided).unwrap();
    let after_void = snapshot(&f.ledger);
    assert_eq!(f.ledger.void(voided), Err(LedgerError::AlreadyVoided));
    assert_eq!(f.ledger.post(voided), Err(LedgerError::AlreadyVoided));
    assert_eq!(snapshot(&f.ledger), after_void);
    assert_ne!(after_post, after_void);

    let single = TransferId::random();
    f.ledger
        .withdraw(single, f.alice, 1, Phase::Single)
        .unwrap();
    assert_eq!(f.ledger.post(single), Err(LedgerError::AlreadyPosted));
    assert_eq!(f.ledger.void(single), Err(LedgerError::AlreadyPosted));
    assert_eq!(
        f.ledger.post(TransferId::random()),
        Err(LedgerError::UnknownTransfer)
    );
}

#[test]
fn pending_transfers_expire_exactly_at_their_timeout() {
    let mut f = fixture();
    let id = TransferId::random();
    f.ledger
        .withdraw(
            id,
            f.alice,
            25,
            Phase::Pending {
                timeout_ms: Some(5_000),
            },
        )
        .unwrap();
    assert_eq!(
        f.ledger.transfer(id).unwrap().expires_at,
        Some(LedgerTime(6_000))
    );
    assert!(f.ledger.advance_clock(LedgerTime(5_999)).is_empty());
    assert_eq!(f.ledger.balance(f.alice), Ok(75));
    let expired = f.ledger.advance_clock(LedgerTime(6_000));
    assert_eq!(expired.iter().map(|t| t.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(expired[0].state, TransferState::Expired);
    assert_eq!(f.ledger.balance(f.alice), Ok(100));
    assert_eq!(f.ledger.transfer(id).unwrap().state, TransferState::Expired);
    assert_eq!(f.ledger.post(id), Err(LedgerError::TransferExpired));
    assert_eq!(f.ledger.void(id), Err(LedgerError::TransferExpired));
    f.ledger.audit().unwrap();
}

#[test]
fn the_clock_never_runs_backwards_and_posted_transfers_do_not_expire() {
    let mut f = fixture();
    let id = TransferId::random();
    f.ledger
        .withdraw(
            id,
            f.alice,
            5,
            Phase::Pending {
                timeout_ms: Some(10),
            },
        )
        .unwrap();
    f.ledger.post(id).unwrap();
    assert!(f.ledger.advance_clock(LedgerTime(50_000)).is_empty());
    assert!(f.ledger.advance_clock(LedgerTime(10)).is_empty());
    assert_eq!(f.ledger.now(), LedgerTime(50_000));
    assert_eq!(f.ledger.transfer(id).unwrap().state, TransferState::Posted);
}

#[test]
fn every_refusal_leaves_the_ledger_unchanged() {
    let mut f = fixture();
    let existing = TransferId::random();
    f.ledger.withdraw(existing, f.alice, 10, PENDING).unwrap();
    let before = snapshot(&f.ledger);
    let unknown = AccountId::random();
    let cases: Vec<(NewTransfer, LedgerError)> = vec![
        (
            pay(existing, f.alice, f.bob, 1, Phase::Single),
            LedgerError::TransferExists,
        ),
        (
            pay(TransferId::random(), unknown, f.bob, 1, Phase::Single),
            LedgerError::UnknownAccount,
        ),
        (
            pay(TransferId::random(), f.alice, unknown, 1, Phase::Single),
            LedgerError::UnknownAccount,
        ),
        (
            pay(TransferId::random(), f.alice, f.alice, 1, Phase::Single),
            LedgerError::SameAccounts,
        ),
        (
            pay(TransferId::random(), f.alice, f.eur_peer, 1, Phase::Single),
            LedgerError::DifferentAssets,
        ),
        (
            pay(TransferId::random(), f.alice, f.bob, 0, Phase::Single),
            LedgerError::AmountZero,
        ),
        (
            pay(
                TransferId::random(),
                f.alice,
                f.bob,
                1,
                Phase::Pending {
                    timeout_ms: Some(0),
                },
            ),
            LedgerError::InvalidTimeout,
        ),
        (
            pay(
                TransferId::random(),
                f.alice,
                f.bob,
                1,
                Phase::Pending {
                    timeout_ms: Some(u64::MAX),
                },
            ),
            LedgerError::InvalidTimeout,
        ),
        (
            pay(TransferId::random(), f.alice, f.bob, 91, Phase::Single),
            LedgerError::InsufficientBalance,
        ),
        (
            pay(TransferId::random(), f.bob, f.alice, 1, PENDING),
            LedgerError::InsufficientBalance,
        ),
        (
            pay(
                TransferId::random(),
                f.alice,
                f.bob,
                u64::MAX,
                Phase::Single,
            ),
            LedgerError::InsufficientBalance,
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(
            f.ledger.create_transfer(request),
            Err(expected),
            "{request:?}"
        );
        assert_eq!(
            snapshot(&f.ledger),
            before,
            "{request:?} changed the ledger"
        );
    }
    assert_eq!(
        f.ledger.deposit(TransferId::random(), unknown, 1),
        Err(LedgerError::UnknownAccount)
    );
    assert_eq!(
        f.ledger.deposit(existing, f.bob, 1),
        Err(LedgerError::TransferExists)
    );
    assert_eq!(
        f.ledger.deposit(TransferId::random(), f.usd_settlement, 1),
        Err(LedgerError::SameAccounts)
    );
    assert_eq!(
        f.ledger.deposit(TransferId::random(), f.bob, 0),
        Err(LedgerError::AmountZero)
    );
    assert_eq!(snapshot(&f.ledger), before);
}

#[test]
fn balances_that_would_pass_u64_max_are_refused() {
    let mut f = fixture();
    let big = u64::MAX - 100;
    f.ledger
        .deposit(TransferId::random(), f.alice, big)
        .unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(u128::from(u64::MAX)));
    let before = snapshot(&f.ledger);
    assert_eq!(
        f.ledger.deposit(TransferId::random(), f.alice, 1),
        Err(LedgerError::Overflow)
    );
    assert_eq!(snapshot(&f.ledger), before);

    // A pending credit counts towards the limit, so posting it can never overflow.
    f.ledger.deposit(TransferId::random(), f.bob, 10).unwrap();
    let pending = TransferId::random();
    f.ledger
        .create_transfer(pay(pending, f.alice, f.bob, u64::MAX - 10, PENDING))
        .unwrap();
    assert_eq!(
        f.ledger.deposit(TransferId::random(), f.bob, 1),
        Err(LedgerError::Overflow)
    );
    f.ledger.post(pending).unwrap();
    assert_eq!(f.ledger.balance(f.bob), Ok(u128::from(u64::MAX)));
    // The settlement account may hold more than u64::MAX in total: it is never reported as UInt64.
    f.ledger
        .withdraw(TransferId::random(), f.bob, 5, Phase::Single)
        .unwrap();
    f.ledger
        .deposit(TransferId::random(), f.alice, 1_000)
        .unwrap();
    assert!(f.ledger.balance(f.usd_settlement).unwrap() > u128::from(u64::MAX));
    f.ledger.audit().unwrap();
}

#[test]
fn linked_batches_apply_all_or_nothing() {
    let mut f = fixture();
    let reserved = TransferId::random();
    f.ledger.withdraw(reserved, f.alice, 10, PENDING).unwrap();
    let before = snapshot(&f.ledger);
    let ok = TransferId::random();
    let failing = [
        LedgerOp::Create(pay(
            ok,
            f.alice,
            f.bob,
            50,
            Phase::Pending {
                timeout_ms: Some(1),
            },
        )),
        LedgerOp::Post(reserved),
        LedgerOp::Create(pay(TransferId::random(), f.alice, f.bob, 41, Phase::Single)),
    ];
    assert_eq!(
        f.ledger.apply_linked(&failing),
        Err(LinkedBatchError {
            index: 2,
            error: LedgerError::InsufficientBalance
        })
    );
    assert_eq!(snapshot(&f.ledger), before);
    // The rolled-back pending transfer left an expiry behind; it must not touch anything.
    assert!(f.ledger.advance_clock(LedgerTime(2_000)).is_empty());
    assert_eq!(snapshot(&f.ledger).0, before.0);

    let succeeding = [
        LedgerOp::Create(pay(ok, f.alice, f.bob, 50, PENDING)),
        LedgerOp::Post(ok),
        LedgerOp::Void(reserved),
    ];
    f.ledger.apply_linked(&succeeding).unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(50));
    assert_eq!(f.ledger.balance(f.bob), Ok(50));
    f.ledger.audit().unwrap();
}

#[test]
fn one_settlement_account_per_ledger() {
    let mut f = fixture();
    assert_eq!(
        f.ledger
            .create_account(AccountId::random(), USD, AccountKind::Settlement),
        Err(LedgerError::AccountExists)
    );
    assert_eq!(
        f.ledger
            .create_account(f.alice, EUR, AccountKind::PeerLiquidity),
        Err(LedgerError::AccountExists)
    );
    assert_eq!(f.ledger.settlement_account(USD), Some(f.usd_settlement));
    assert_eq!(f.ledger.settlement_account(LedgerId(9)), None);
}

// === transfers kept until they end ===

const PACKET_TIMEOUT: Phase = Phase::Pending {
    timeout_ms: Some(5_000),
};

#[test]
fn a_transfer_kept_until_it_ends_leaves_the_ledger_when_posted_or_voided() {
    let mut f = fixture();
    let posted = TransferId::random();
    f.ledger
        .create_transfer_until_ended(pay(posted, f.alice, f.bob, 30, PACKET_TIMEOUT))
        .unwrap();
    assert_eq!(
        f.ledger.transfer(posted).map(|t| (t.state, t.retention)),
        Some((TransferState::Pending, Retention::UntilEnded))
    );
    assert_eq!(f.ledger.pending_count(), 1);
    f.ledger.audit().unwrap();

    let record = f.ledger.post(posted).unwrap();
    assert_eq!(
        (record.id, record.amount, record.state, record.created_at),
        (posted, 30, TransferState::Posted, LedgerTime(1_000))
    );
    assert_eq!(record.expires_at, Some(LedgerTime(6_000)));
    assert_eq!(f.ledger.transfer(posted), None);
    assert_eq!(f.ledger.balance(f.alice), Ok(70));
    assert_eq!(f.ledger.balance(f.bob), Ok(30));
    // Ending it again finds nothing: it ended exactly once.
    assert_eq!(f.ledger.post(posted), Err(LedgerError::UnknownTransfer));
    assert_eq!(f.ledger.void(posted), Err(LedgerError::UnknownTransfer));

    let voided = TransferId::random();
    f.ledger
        .create_transfer_until_ended(pay(voided, f.alice, f.bob, 50, PACKET_TIMEOUT))
        .unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(20));
    let record = f.ledger.void(voided).unwrap();
    assert_eq!(record.state, TransferState::Voided);
    assert_eq!(f.ledger.transfer(voided), None);
    assert_eq!(f.ledger.balance(f.alice), Ok(70));

    // Only the funding deposit is left.
    assert_eq!(f.ledger.transfers().count(), 1);
    assert_eq!(f.ledger.pending_count(), 0);
    f.ledger.audit().unwrap();
}

#[test]
fn an_expired_transfer_kept_until_it_ends_is_returned_and_forgotten() {
    let mut f = fixture();
    let id = TransferId::random();
    f.ledger
        .create_transfer_until_ended(pay(id, f.alice, f.bob, 25, PACKET_TIMEOUT))
        .unwrap();
    assert!(f.ledger.advance_clock(LedgerTime(5_999)).is_empty());
    let expired = f.ledger.advance_clock(LedgerTime(6_000));
    assert_eq!(expired.len(), 1);
    assert_eq!(
        (expired[0].id, expired[0].amount, expired[0].state),
        (id, 25, TransferState::Expired)
    );
    assert_eq!(f.ledger.transfer(id), None);
    assert_eq!(f.ledger.balance(f.alice), Ok(100));
    assert_eq!(f.ledger.pending_count(), 0);
    f.ledger.audit().unwrap();
}

#[test]
fn admin_ids_are_refused_forever_while_forgotten_ids_are_not_kept() {
    let mut f = fixture();
    let deposit = TransferId::random();
    f.ledger.deposit(deposit, f.bob, 10).unwrap();
    let withdrawal = TransferId::random();
    f.ledger.withdraw(withdrawal, f.alice, 5, PENDING).unwrap();
    f.ledger.post(withdrawal).unwrap();
    for _ in 0..50 {
        let packet = TransferId::random();
        f.ledger
            .create_transfer_until_ended(pay(packet, f.alice, f.bob, 1, PACKET_TIMEOUT))
            .unwrap();
        f.ledger.post(packet).unwrap();
    }
    // The funding deposit, the deposit and the withdrawal: no packet.
    assert_eq!(f.ledger.transfers().count(), 3);
    for id in [deposit, withdrawal] {
        assert_eq!(
            f.ledger.transfer(id).map(|t| t.retention),
            Some(Retention::Full)
        );
        assert_eq!(
            f.ledger.deposit(id, f.bob, 1),
            Err(LedgerError::TransferExists)
        );
        assert_eq!(
            f.ledger
                .create_transfer_until_ended(pay(id, f.alice, f.bob, 1, PACKET_TIMEOUT)),
            Err(LedgerError::TransferExists)
        );
    }
    assert_eq!(f.ledger.post(withdrawal), Err(LedgerError::AlreadyPosted));
    // A pending one is refused as a duplicate while it is held.
    let held = TransferId::random();
    f.ledger
        .create_transfer_until_ended(pay(held, f.alice, f.bob, 1, PACKET_TIMEOUT))
        .unwrap();
    assert_eq!(
        f.ledger.deposit(held, f.bob, 1),
        Err(LedgerError::TransferExists)
    );
    f.ledger.audit().unwrap();
}

#[test]
fn a_single_phase_transfer_kept_until_it_ends_moves_money_and_is_not_kept() {
    let mut f = fixture();
    let id = TransferId::random();
    f.ledger
        .create_transfer_until_ended(pay(id, f.alice, f.bob, 40, Phase::Single))
        .unwrap();
    assert_eq!(f.ledger.transfer(id), None);
    assert_eq!(f.ledger.balance(f.bob), Ok(40));
    assert_eq!(f.ledger.pending_count(), 0);
    f.ledger.audit().unwrap();
}

#[test]
fn the_expiry_heap_stays_as_small_as_what_is_in_flight() {
    let mut f = fixture();
    let held = TransferId::random();
    f.ledger
        .create_transfer_until_ended(pay(held, f.alice, f.bob, 1, PACKET_TIMEOUT))
        .unwrap();
    // Many more packets than the margin, each ended before its timeout, with the clock standing.
    for n in 0..10_000 {
        let (from, to) = if n % 2 == 0 {
            (f.alice, f.bob)
        } else {
            (f.bob, f.alice)
        };
        let id = TransferId::random();
        f.ledger
            .create_transfer_until_ended(pay(id, from, to, 1, PACKET_TIMEOUT))
            .unwrap();
        f.ledger.post(id).unwrap();
        // Compacted at each creation; the post since may have ended one more.
        assert!(f.ledger.expiries.len() <= 2 * (f.ledger.pending_count() + 1) + 1_024);
    }
    assert!(
        f.ledger.expiries.len() < 2_000,
        "{}",
        f.ledger.expiries.len()
    );
    // The one still held still expires on time.
    let expired = f.ledger.advance_clock(LedgerTime(6_000));
    assert_eq!(expired.iter().map(|t| t.id).collect::<Vec<_>>(), vec![held]);
    assert!(f.ledger.expiries.is_empty());
    f.ledger.audit().unwrap();
}

#[test]
fn the_expiry_heap_lets_go_of_forgotten_transfers_when_their_time_comes() {
    let mut f = fixture();
    // Back and forth, so that alice's 100 last.
    for n in 0..1_000 {
        let (from, to) = if n % 2 == 0 {
            (f.alice, f.bob)
        } else {
            (f.bob, f.alice)
        };
        let id = TransferId::random();
        f.ledger
            .create_transfer_until_ended(pay(id, from, to, 1, PACKET_TIMEOUT))
            .unwrap();
        f.ledger.post(id).unwrap();
    }
    assert_eq!(f.ledger.expiries.len(), 1_000);
    assert!(f.ledger.advance_clock(LedgerTime(6_000)).is_empty());
    assert_eq!(f.ledger.expiries.len(), 0);
    assert_eq!(f.ledger.transfers().count(), 1);
    assert_eq!(f.ledger.balance(f.alice), Ok(100));
    assert_eq!(f.ledger.account(f.bob).map(|a| a.credits_posted), Some(500));
    f.ledger.audit().unwrap();
}

#[test]
fn linked_batches_return_what_they_ended_and_roll_back_forgotten_transfers() {
    let mut f = fixture();
    let packet = TransferId::random();
    f.ledger
        .create_transfer_until_ended(pay(packet, f.alice, f.bob, 10, PACKET_TIMEOUT))
        .unwrap();
    let before = snapshot(&f.ledger);
    // Voiding the packet's transfer removes it; the failing step must bring it back, pending.
    let failing = [
        LedgerOp::Void(packet),
        LedgerOp::Create(pay(
            TransferId::random(),
            f.alice,
            f.bob,
            1_000,
            Phase::Single,
        )),
    ];
    assert_eq!(
        f.ledger.apply_linked(&failing),
        Err(LinkedBatchError {
            index: 1,
            error: LedgerError::InsufficientBalance
        })
    );
    assert_eq!(snapshot(&f.ledger), before);
    assert_eq!(f.ledger.pending_count(), 1);
    f.ledger.audit().unwrap();

    let ended = f.ledger.apply_linked(&[LedgerOp::Post(packet)]).unwrap();
    assert_eq!(
        ended.iter().map(|t| (t.id, t.state)).collect::<Vec<_>>(),
        vec![(packet, TransferState::Posted)]
    );
    assert_eq!(f.ledger.transfer(packet), None);
    assert_eq!(f.ledger.pending_count(), 0);
    f.ledger.audit().unwrap();
}

#[test]
fn the_audit_catches_a_wrong_pending_count() {
    let mut f = fixture();
    f.ledger
        .withdraw(TransferId::random(), f.alice, 1, PENDING)
        .unwrap();
    f.ledger.audit().unwrap();
    f.ledger.pending = 2;
    assert_eq!(
        f.ledger.audit(),
        Err(Violation::PendingCountMismatch {
            recorded: 2,
            counted: 1
        })
    );
}

#[test]
fn transfers_kept_until_ended_are_created_all_or_none() {
    let mut f = fixture();
    let before = snapshot(&f.ledger);
    let pending = Phase::Pending {
        timeout_ms: Some(5_000),
    };
    let first = pay(TransferId::random(), f.alice, f.bob, 60, pending);
    // The second leg is in another ledger, with nothing to pay from.
    let second = pay(TransferId::random(), f.eur_peer, f.eur_peer, 1, pending);
    assert_eq!(
        f.ledger.create_transfers_until_ended(&[first, second]),
        Err(LinkedBatchError {
            index: 1,
            error: LedgerError::SameAccounts
        })
    );
    assert_eq!(snapshot(&f.ledger), before);
    assert_eq!(f.ledger.pending_count(), 0);
    // The rolled-back leg left an expiry behind; it must not touch anything.
    assert!(f.ledger.advance_clock(LedgerTime(10_000)).is_empty());

    let legs = [
        pay(TransferId::random(), f.alice, f.bob, 60, pending),
        pay(TransferId::random(), f.alice, f.bob, 40, pending),
    ];
    f.ledger.create_transfers_until_ended(&legs).unwrap();
    assert_eq!(f.ledger.pending_count(), 2);
    assert_eq!(f.ledger.balance(f.alice), Ok(0));
    for leg in &legs {
        let ended = f.ledger.post(leg.id).unwrap();
        assert_eq!(ended.retention, Retention::UntilEnded);
        assert!(f.ledger.transfer(leg.id).is_none(), "forgotten once ended");
    }
    assert_eq!(f.ledger.balance(f.bob), Ok(100));
    f.ledger.audit().unwrap();
}

#[test]
fn an_empty_account_closes_and_the_ledger_stays_balanced() {
    let mut f = fixture();
    let payment = AccountId::random();
    f.ledger
        .create_account(payment, USD, AccountKind::IncomingPayment)
        .unwrap();
    // 40 in from alice, all of it withdrawn: as much posted out as posted in.
    f.ledger
        .create_transfer(pay(
            TransferId::random(),
            f.alice,
            payment,
            40,
            Phase::Single,
        ))
        .unwrap();
    f.ledger
        .withdraw(TransferId::random(), payment, 40, Phase::Single)
        .unwrap();
    let closed = f.ledger.close_account(payment).unwrap();
    assert_eq!((closed.debits_posted, closed.credits_posted), (40, 40));
    assert_eq!(f.ledger.account(payment), None);
    assert_eq!(f.ledger.balance(payment), Err(LedgerError::UnknownAccount));
    // Nothing moves through a closed account; the others kept their money.
    assert_eq!(
        f.ledger.create_transfer(pay(
            TransferId::random(),
            f.alice,
            payment,
            1,
            Phase::Single
        )),
        Err(LedgerError::UnknownAccount)
    );
    assert_eq!(f.ledger.balance(f.alice), Ok(60));
    assert_eq!(
        f.ledger.close_account(payment),
        Err(LedgerError::UnknownAccount)
    );
    f.ledger.audit().unwrap();
}

#[test]
fn an_account_holding_money_or_with_anything_pending_does_not_close() {
    let mut f = fixture();
    // Holds money.
    assert_eq!(
        f.ledger.close_account(f.alice),
        Err(LedgerError::AccountNotEmpty)
    );
    // Balance 0 but a debit pending: the withdrawal may still be voided.
    let withdrawal = TransferId::random();
    f.ledger
        .withdraw(withdrawal, f.alice, 100, PENDING)
        .unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(0));
    assert_eq!(
        f.ledger.close_account(f.alice),
        Err(LedgerError::AccountNotEmpty)
    );
    f.ledger.void(withdrawal).unwrap();
    // Empty but a credit pending: money is on its way in.
    let incoming = TransferId::random();
    f.ledger
        .create_transfer(pay(incoming, f.alice, f.bob, 10, PENDING))
        .unwrap();
    assert_eq!(f.ledger.balance(f.bob), Ok(0));
    assert_eq!(
        f.ledger.close_account(f.bob),
        Err(LedgerError::AccountNotEmpty)
    );
    f.ledger.void(incoming).unwrap();
    // The settlement account, even when it holds nothing.
    let eur_settlement = f.ledger.settlement_account(EUR).unwrap();
    assert_eq!(
        f.ledger.close_account(eur_settlement),
        Err(LedgerError::SettlementAccount)
    );
    // Refusals changed nothing; bob, empty at last, closes.
    f.ledger.close_account(f.bob).unwrap();
    assert_eq!(f.ledger.balance(f.alice), Ok(100));
    f.ledger.audit().unwrap();
}

#[test]
fn only_ended_transfers_kept_in_full_are_forgotten() {
    let mut f = fixture();
    let posted = TransferId::random();
    f.ledger.withdraw(posted, f.alice, 10, PENDING).unwrap();
    assert_eq!(
        f.ledger.forget_transfer(posted),
        Err(LedgerError::TransferPending)
    );
    f.ledger.post(posted).unwrap();
    let before = snapshot(&f.ledger).0;
    let forgotten = f.ledger.forget_transfer(posted).unwrap();
    assert_eq!(forgotten.state, TransferState::Posted);
    assert_eq!(f.ledger.transfer(posted), None);
    // Balances are untouched: the amount stays in the posted totals.
    assert_eq!(snapshot(&f.ledger).0, before);
    assert_eq!(
        f.ledger.forget_transfer(posted),
        Err(LedgerError::UnknownTransfer)
    );
    assert_eq!(f.ledger.post(posted), Err(LedgerError::UnknownTransfer));

    // Voided and expired ones too.
    let voided = TransferId::random();
    f.ledger.withdraw(voided, f.alice, 10, PENDING).unwrap();
    f.ledger.void(voided).unwrap();
    f.ledger.forget_transfer(voided).unwrap();
    let expired = TransferId::random();
    f.ledger
        .withdraw(
            expired,
            f.alice,
            10,
            Phase::Pending {
                timeout_ms: Some(5),
            },
        )
        .unwrap();
    f.ledger.advance_clock(LedgerTime(2_000));
    f.ledger.forget_transfer(expired).unwrap();

    // A packet's transfer (kept until it ended) is already gone once it ends.
    let packet = TransferId::random();
    f.ledger
        .create_transfer_until_ended(pay(packet, f.alice, f.bob, 5, PENDING))
        .unwrap();
    assert_eq!(
        f.ledger.forget_transfer(packet),
        Err(LedgerError::TransferPending)
    );
    f.ledger.post(packet).unwrap();
    assert_eq!(
        f.ledger.forget_transfer(packet),
        Err(LedgerError::UnknownTransfer)
    );
    assert_eq!(f.ledger.balance(f.alice), Ok(85));
    assert_eq!(f.ledger.balance(f.usd_settlement), Ok(90));
    f.ledger.audit().unwrap();
}
