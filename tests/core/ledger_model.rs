//! The ledger against a reference model, step by step (TigerBeetle's auditor approach).
//!
//! The model is deliberately naive: it keeps a list of transfers and recomputes every account's
//! totals by folding over them, so it shares no bookkeeping with the ledger. Random sequences of
//! account openings, deposits, single- and two-phase withdrawals, payments between accounts,
//! posts, voids, clock advances, reused ids and linked batches run through both. After every step:
//! the results are equal, every account and transfer is equal, the ledger's invariants hold, and no
//! transfer that had ended changed again.

use peerlab::ledger::{
    AccountId, AccountKind, BalanceLimit, Ledger, LedgerError, LedgerId, LedgerOp, LedgerTime,
    LinkedBatchError, NewTransfer, Phase, TransferId, TransferKind, TransferState, audit,
};
use proptest::prelude::*;

use crate::proptest_cases;

const LEDGERS: [LedgerId; 2] = [LedgerId(1), LedgerId(2)];
/// Peer slots; the first four are opened before the first step, two per ledger.
const PEER_SLOTS: usize = 6;
/// Peers, then each ledger's asset liquidity, then each ledger's settlement account.
const ACCOUNT_SLOTS: usize = PEER_SLOTS + 4;
/// Few enough that ids are reused often.
const TRANSFER_SLOTS: usize = 10;

// === steps ===

#[derive(Debug, Clone)]
enum Step {
    OpenPeer {
        slot: usize,
        ledger: usize,
    },
    Deposit {
        id: usize,
        to: usize,
        amount: u64,
    },
    Withdraw {
        id: usize,
        from: usize,
        amount: u64,
        phase: Phase,
    },
    Pay(Pay),
    Post {
        id: usize,
    },
    Void {
        id: usize,
    },
    Advance {
        ms: u64,
    },
    /// Advance exactly to the earliest pending expiry, where off-by-one mistakes live.
    AdvanceToNextExpiry,
    Linked(Vec<LinkedStep>),
}

#[derive(Debug, Clone)]
struct Pay {
    id: usize,
    from: usize,
    to: usize,
    amount: u64,
    phase: Phase,
}

#[derive(Debug, Clone)]
enum LinkedStep {
    Pay(Pay),
    Post { id: usize },
    Void { id: usize },
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..=60,
        1 => Just(u64::MAX),
        1 => Just(u64::MAX - 1),
        1 => (0u32..64).prop_map(|k| (1u64 << k) - 1),
    ]
}

fn phase() -> impl Strategy<Value = Phase> {
    prop_oneof![
        3 => Just(Phase::Single),
        2 => Just(Phase::Pending { timeout_ms: None }),
        1 => Just(Phase::Pending { timeout_ms: Some(0) }),
        3 => (1u64..5_000).prop_map(|ms| Phase::Pending { timeout_ms: Some(ms) }),
    ]
}

fn transfer_slot() -> impl Strategy<Value = usize> {
    0..TRANSFER_SLOTS
}

fn pay() -> impl Strategy<Value = Pay> {
    (
        transfer_slot(),
        0..ACCOUNT_SLOTS,
        0..ACCOUNT_SLOTS,
        amount(),
        phase(),
    )
        .prop_map(|(id, from, to, amount, phase)| Pay {
            id,
            from,
            to,
            amount,
            phase,
        })
}

fn linked_step() -> impl Strategy<Value = LinkedStep> {
    prop_oneof![
        3 => pay().prop_map(LinkedStep::Pay),
        1 => transfer_slot().prop_map(|id| LinkedStep::Post { id }),
        1 => transfer_slot().prop_map(|id| LinkedStep::Void { id }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..PEER_SLOTS, 0..LEDGERS.len()).prop_map(|(slot, ledger)| Step::OpenPeer { slot, ledger }),
        3 => (transfer_slot(), 0..ACCOUNT_SLOTS, amount())
            .prop_map(|(id, to, amount)| Step::Deposit { id, to, amount }),
        3 => (transfer_slot(), 0..ACCOUNT_SLOTS, amount(), phase())
            .prop_map(|(id, from, amount, phase)| Step::Withdraw { id, from, amount, phase }),
        4 => pay().prop_map(Step::Pay),
        2 => transfer_slot().prop_map(|id| Step::Post { id }),
        2 => transfer_slot().prop_map(|id| Step::Void { id }),
        2 => prop_oneof![
            9 => 0u64..3_000,
            1 => Just(u64::MAX / 2),
        ].prop_map(|ms| Step::Advance { ms }),
        1 => Just(Step::AdvanceToNextExpiry),
        1 => prop::collection::vec(linked_step(), 1..5).prop_map(Step::Linked),
    ]
}

// === the reference model ===

#[derive(Debug, Clone)]
struct ModelAccount {
    id: AccountId,
    ledger: LedgerId,
    kind: AccountKind,
}

#[derive(Debug, Clone)]
struct ModelTransfer {
    id: TransferId,
    debit: AccountId,
    credit: AccountId,
    amount: u64,
    state: TransferState,
    expires_at: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Totals {
    debits_pending: u128,
    debits_posted: u128,
    credits_pending: u128,
    credits_posted: u128,
}

#[derive(Debug, Clone, Default)]
struct Model {
    clock: u64,
    accounts: Vec<ModelAccount>,
    transfers: Vec<ModelTransfer>,
}

impl Model {
    fn account(&self, id: AccountId) -> Option<&ModelAccount> {
        self.accounts.iter().find(|a| a.id == id)
    }

    fn totals(&self, id: AccountId) -> Totals {
        let mut totals = Totals::default();
        for t in &self.transfers {
            let amount = u128::from(t.amount);
            let pending = match t.state {
                TransferState::Pending => true,
                TransferState::Posted => false,
                TransferState::Voided | TransferState::Expired => continue,
            };
            if t.debit == id {
                if pending {
                    totals.debits_pending += amount;
                } else {
                    totals.debits_posted += amount;
                }
            }
            if t.credit == id {
                if pending {
                    totals.credits_pending += amount;
                } else {
                    totals.credits_posted += amount;
                }
            }
        }
        totals
    }

    fn within_limit(kind: AccountKind, t: &Totals) -> bool {
        match kind.limit() {
            BalanceLimit::DebitsMustNotExceedCredits => {
                t.debits_pending + t.debits_posted <= t.credits_posted
            }
            BalanceLimit::CreditsMustNotExceedDebits => {
                t.credits_pending + t.credits_posted <= t.debits_posted
            }
        }
    }

    fn settlement_of(&self, ledger: LedgerId) -> Option<AccountId> {
        self.accounts
            .iter()
            .find(|a| a.ledger == ledger && a.kind == AccountKind::Settlement)
            .map(|a| a.id)
    }

    fn open(
        &mut self,
        id: AccountId,
        ledger: LedgerId,
        kind: AccountKind,
    ) -> Result<(), LedgerError> {
        if self.account(id).is_some() {
            return Err(LedgerError::AccountExists);
        }
        self.accounts.push(ModelAccount { id, ledger, kind });
        Ok(())
    }

    fn create(&mut self, new: NewTransfer) -> Result<(), LedgerError> {
        if self.transfers.iter().any(|t| t.id == new.id) {
            return Err(LedgerError::TransferExists);
        }
        let debit = self
            .account(new.debit_account)
            .ok_or(LedgerError::UnknownAccount)?
            .clone();
        let credit = self
            .account(new.credit_account)
            .ok_or(LedgerError::UnknownAccount)?
            .clone();
        if debit.id == credit.id {
            return Err(LedgerError::SameAccounts);
        }
        if debit.ledger != credit.ledger {
            return Err(LedgerError::DifferentAssets);
        }
        if new.amount == 0 {
            return Err(LedgerError::AmountZero);
        }
        let (state, expires_at) = match new.phase {
            Phase::Single => (TransferState::Posted, None),
            Phase::Pending { timeout_ms: None } => (TransferState::Pending, None),
            Phase::Pending {
                timeout_ms: Some(0),
            } => return Err(LedgerError::InvalidTimeout),
            Phase::Pending {
                timeout_ms: Some(ms),
            } => match self.clock.checked_add(ms) {
                Some(at) => (TransferState::Pending, Some(at)),
                None => return Err(LedgerError::InvalidTimeout),
            },
        };
        let candidate = ModelTransfer {
            id: new.id,
            debit: debit.id,
            credit: credit.id,
            amount: new.amount,
            state,
            expires_at,
        };
        let mut after = self.clone();
        after.transfers.push(candidate);
        let debit_totals = after.totals(debit.id);
        let credit_totals = after.totals(credit.id);
        if !Self::within_limit(debit.kind, &debit_totals)
            || !Self::within_limit(credit.kind, &credit_totals)
        {
            return Err(LedgerError::InsufficientBalance);
        }
        if credit.kind != AccountKind::Settlement {
            let potential = (credit_totals.credits_posted + credit_totals.credits_pending)
                .saturating_sub(credit_totals.debits_posted);
            if potential > u128::from(u64::MAX) {
                return Err(LedgerError::Overflow);
            }
        }
        *self = after;
        Ok(())
    }

    fn with_settlement(
        &mut self,
        id: TransferId,
        account: AccountId,
        build: impl FnOnce(AccountId) -> NewTransfer,
    ) -> Result<(), LedgerError> {
        if self.transfers.iter().any(|t| t.id == id) {
            return Err(LedgerError::TransferExists);
        }
        let ledger = self
            .account(account)
            .ok_or(LedgerError::UnknownAccount)?
            .ledger;
        let settlement = self
            .settlement_of(ledger)
            .ok_or(LedgerError::UnknownAccount)?;
        self.create(build(settlement))
    }

    fn resolve(&mut self, id: TransferId, post: bool) -> Result<(), LedgerError> {
        let transfer = self
            .transfers
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(LedgerError::UnknownTransfer)?;
        match transfer.state {
            TransferState::Posted => Err(LedgerError::AlreadyPosted),
            TransferState::Voided => Err(LedgerError::AlreadyVoided),
            TransferState::Expired => Err(LedgerError::TransferExpired),
            TransferState::Pending => {
                transfer.state = if post {
                    TransferState::Posted
                } else {
                    TransferState::Voided
                };
                Ok(())
            }
        }
    }

    fn advance(&mut self, ms: u64) -> Vec<TransferId> {
        self.clock = self.clock.saturating_add(ms);
        let mut expired: Vec<(u64, TransferId)> = Vec::new();
        for t in &mut self.transfers {
            if t.state == TransferState::Pending && t.expires_at.is_some_and(|at| at <= self.clock)
            {
                t.state = TransferState::Expired;
                expired.push((t.expires_at.unwrap_or_default(), t.id));
            }
        }
        expired.sort();
        expired.into_iter().map(|(_, id)| id).collect()
    }
}

// === running both ===

/// The ids a case runs on, fresh per case.
struct Ids {
    accounts: Vec<AccountId>,
    transfers: Vec<TransferId>,
}

impl Ids {
    fn new() -> Self {
        Self {
            accounts: (0..ACCOUNT_SLOTS).map(|_| AccountId::random()).collect(),
            transfers: (0..TRANSFER_SLOTS).map(|_| TransferId::random()).collect(),
        }
    }

    fn new_transfer(&self, pay: &Pay) -> NewTransfer {
        NewTransfer {
            id: self.transfers[pay.id],
            debit_account: self.accounts[pay.from],
            credit_account: self.accounts[pay.to],
            amount: pay.amount,
            kind: TransferKind::Transfer,
            phase: pay.phase,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Single(Result<(), LedgerError>),
    Linked(Result<(), LinkedBatchError>),
    Expired(Vec<TransferId>),
}

/// Opens each ledger's asset and settlement accounts and the first four peers in both systems.
fn open_initial_accounts(ids: &Ids, ledger: &mut Ledger, model: &mut Model) {
    let mut initial = Vec::new();
    for (i, id) in ids.accounts.iter().enumerate().take(4) {
        initial.push((*id, LEDGERS[i % 2], AccountKind::PeerLiquidity));
    }
    for (i, ledger_id) in LEDGERS.iter().enumerate() {
        initial.push((
            ids.accounts[PEER_SLOTS + i],
            *ledger_id,
            AccountKind::AssetLiquidity,
        ));
        initial.push((
            ids.accounts[PEER_SLOTS + 2 + i],
            *ledger_id,
            AccountKind::Settlement,
        ));
    }
    for (id, ledger_id, kind) in initial {
        ledger
            .create_account(id, ledger_id, kind)
            .expect("fresh account");
        model.open(id, ledger_id, kind).expect("fresh account");
    }
}

fn apply_to_ledger(ids: &Ids, ledger: &mut Ledger, step: &Step) -> Outcome {
    match step {
        Step::OpenPeer { slot, ledger: l } => Outcome::Single(ledger.create_account(
            ids.accounts[*slot],
            LEDGERS[*l],
            AccountKind::PeerLiquidity,
        )),
        Step::Deposit { id, to, amount } => {
            Outcome::Single(ledger.deposit(ids.transfers[*id], ids.accounts[*to], *amount))
        }
        Step::Withdraw {
            id,
            from,
            amount,
            phase,
        } => Outcome::Single(ledger.withdraw(
            ids.transfers[*id],
            ids.accounts[*from],
            *amount,
            *phase,
        )),
        Step::Pay(pay) => Outcome::Single(ledger.create_transfer(ids.new_transfer(pay))),
        Step::Post { id } => Outcome::Single(ledger.post(ids.transfers[*id]).map(drop)),
        Step::Void { id } => Outcome::Single(ledger.void(ids.transfers[*id]).map(drop)),
        Step::Advance { ms } => {
            let now = LedgerTime(ledger.now().0.saturating_add(*ms));
            Outcome::Expired(ledger.advance_clock(now).iter().map(|t| t.id).collect())
        }
        Step::AdvanceToNextExpiry => {
            let next = ledger
                .transfers()
                .filter(|t| t.state == TransferState::Pending)
                .filter_map(|t| t.expires_at)
                .min()
                .unwrap_or(ledger.now());
            Outcome::Expired(ledger.advance_clock(next).iter().map(|t| t.id).collect())
        }
        Step::Linked(steps) => {
            let ops: Vec<LedgerOp> = steps
                .iter()
                .map(|s| match s {
                    LinkedStep::Pay(pay) => LedgerOp::Create(ids.new_transfer(pay)),
                    LinkedStep::Post { id } => LedgerOp::Post(ids.transfers[*id]),
                    LinkedStep::Void { id } => LedgerOp::Void(ids.transfers[*id]),
                })
                .collect();
            Outcome::Linked(ledger.apply_linked(&ops).map(drop))
        }
    }
}

fn apply_to_model(ids: &Ids, model: &mut Model, step: &Step) -> Outcome {
    match step {
        Step::OpenPeer { slot, ledger } => Outcome::Single(model.open(
            ids.accounts[*slot],
            LEDGERS[*ledger],
            AccountKind::PeerLiquidity,
        )),
        Step::Deposit { id, to, amount } => {
            let (id, to) = (ids.transfers[*id], ids.accounts[*to]);
            Outcome::Single(model.with_settlement(id, to, |settlement| NewTransfer {
                id,
                debit_account: settlement,
                credit_account: to,
                amount: *amount,
                kind: TransferKind::Deposit,
                phase: Phase::Single,
            }))
        }
        Step::Withdraw {
            id,
            from,
            amount,
            phase,
        } => {
            let (id, from) = (ids.transfers[*id], ids.accounts[*from]);
            Outcome::Single(model.with_settlement(id, from, |settlement| NewTransfer {
                id,
                debit_account: from,
                credit_account: settlement,
                amount: *amount,
                kind: TransferKind::Withdrawal,
                phase: *phase,
            }))
        }
        Step::Pay(pay) => Outcome::Single(model.create(ids.new_transfer(pay))),
        Step::Post { id } => Outcome::Single(model.resolve(ids.transfers[*id], true)),
        Step::Void { id } => Outcome::Single(model.resolve(ids.transfers[*id], false)),
        Step::Advance { ms } => Outcome::Expired(model.advance(*ms)),
        Step::AdvanceToNextExpiry => {
            let next = model
                .transfers
                .iter()
                .filter(|t| t.state == TransferState::Pending)
                .filter_map(|t| t.expires_at)
                .min()
                .unwrap_or(model.clock);
            Outcome::Expired(model.advance(next - model.clock))
        }
        Step::Linked(steps) => {
            let mut scratch = model.clone();
            for (index, s) in steps.iter().enumerate() {
                let result = match s {
                    LinkedStep::Pay(pay) => scratch.create(ids.new_transfer(pay)),
                    LinkedStep::Post { id } => scratch.resolve(ids.transfers[*id], true),
                    LinkedStep::Void { id } => scratch.resolve(ids.transfers[*id], false),
                };
                if let Err(error) = result {
                    return Outcome::Linked(Err(LinkedBatchError { index, error }));
                }
            }
            *model = scratch;
            Outcome::Linked(Ok(()))
        }
    }
}

/// The ledger's accounts and transfers equal the model's, field by field.
fn assert_same_state(ledger: &Ledger, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(ledger.now().0, model.clock);
    prop_assert_eq!(ledger.accounts().count(), model.accounts.len());
    for expected in &model.accounts {
        let actual = ledger.account(expected.id);
        prop_assert!(actual.is_some(), "account {} missing", expected.id);
        let actual = actual.copied().unwrap_or_else(|| unreachable!());
        prop_assert_eq!(
            (actual.ledger, actual.kind),
            (expected.ledger, expected.kind)
        );
        let totals = model.totals(expected.id);
        prop_assert_eq!(
            Totals {
                debits_pending: actual.debits_pending,
                debits_posted: actual.debits_posted,
                credits_pending: actual.credits_pending,
                credits_posted: actual.credits_posted,
            },
            totals,
            "totals of account {}",
            expected.id
        );
    }
    prop_assert_eq!(ledger.transfers().count(), model.transfers.len());
    for expected in &model.transfers {
        let actual = ledger.transfer(expected.id);
        prop_assert!(actual.is_some(), "transfer {} missing", expected.id);
        let actual = actual.copied().unwrap_or_else(|| unreachable!());
        prop_assert_eq!(
            (
                actual.debit_account,
                actual.credit_account,
                actual.amount,
                actual.state
            ),
            (
                expected.debit,
                expected.credit,
                expected.amount,
                expected.state
            )
        );
        prop_assert_eq!(actual.expires_at.map(|t| t.0), expected.expires_at);
    }
    Ok(())
}

fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let ids = Ids::new();
    let mut ledger = Ledger::new();
    let mut model = Model::default();
    open_initial_accounts(&ids, &mut ledger, &mut model);
    for (n, step) in steps.iter().enumerate() {
        let states_before = ledger.transfer_states();
        let actual = apply_to_ledger(&ids, &mut ledger, step);
        let expected = apply_to_model(&ids, &mut model, step);
        prop_assert_eq!(&actual, &expected, "step {}: {:?}", n, step);
        assert_same_state(&ledger, &model)?;
        if let Err(violation) = ledger.audit() {
            return Err(TestCaseError::fail(format!("step {n}: {violation}")));
        }
        if let Err(violation) = audit::check_resolutions(&states_before, &ledger.transfer_states())
        {
            return Err(TestCaseError::fail(format!("step {n}: {violation}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(1_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn ledger_matches_the_reference_model(steps in prop::collection::vec(step(), 1..60)) {
        run(&steps)?;
    }
}

/// The harness itself must be able to fail: a model that forgets one rule disagrees at once.
#[test]
fn the_model_comparison_detects_a_wrong_result() {
    let ids = Ids::new();
    let mut ledger = Ledger::new();
    let mut model = Model::default();
    open_initial_accounts(&ids, &mut ledger, &mut model);
    // Alice (slot 0) has nothing; the ledger refuses a withdrawal that a careless model would allow.
    let step = Step::Withdraw {
        id: 0,
        from: 0,
        amount: 5,
        phase: Phase::Single,
    };
    let actual = apply_to_ledger(&ids, &mut ledger, &step);
    assert_eq!(
        actual,
        Outcome::Single(Err(LedgerError::InsufficientBalance))
    );
    assert_ne!(actual, Outcome::Single(Ok(())));
    // And a state difference is reported.
    model.transfers.push(ModelTransfer {
        id: ids.transfers[0],
        debit: ids.accounts[0],
        credit: ids.accounts[PEER_SLOTS + 2],
        amount: 5,
        state: TransferState::Posted,
        expires_at: None,
    });
    assert!(assert_same_state(&ledger, &model).is_err());
}
