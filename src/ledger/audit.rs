//! Ledger invariants, checked on plain account and transfer records so that the same checks serve
//! the ledger itself, the property tests, and the simulator's end-of-run report.
//!
//! 1. Per ledger, the sum of all debits equals the sum of all credits, pending and posted apart.
//! 2. No account breaks its limit: a liquidity account's pending plus posted debits never exceed
//!    its posted credits; a settlement account's pending plus posted credits never exceed its posted
//!    debits.
//! 3. Each account's pending totals equal the amounts of its still-pending transfers.
//! 4. A transfer kept in full that has ended (posted, voided, expired) never changes again or
//!    disappears, so a pending transfer ends at most once. (A transfer kept only until it ends
//!    leaves the ledger as it ends; a second post or void of it finds nothing. An ended transfer
//!    leaves only when its owner forgets it on purpose, `Ledger::forget_transfer`, which
//!    [`check_resolutions`] cannot tell from a loss: compare snapshots without forgetting between
//!    them.)
//!
//! Closing an account (`Ledger::close_account`) keeps 1 to 3: only an account with nothing
//! pending and equal posted debits and credits can be closed, so its ledger's sums lose the same
//! amount on both sides.

use std::collections::{BTreeMap, HashMap};

use thiserror::Error;

use super::types::{Account, AccountId, LedgerId, Transfer, TransferId, TransferState};

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Violation {
    #[error("ledger {ledger:?}: pending debits {debits} != pending credits {credits}")]
    UnbalancedPending {
        ledger: LedgerId,
        debits: u128,
        credits: u128,
    },
    #[error("ledger {ledger:?}: posted debits {debits} != posted credits {credits}")]
    UnbalancedPosted {
        ledger: LedgerId,
        debits: u128,
        credits: u128,
    },
    #[error("account {account} is beyond its limit")]
    LimitExceeded { account: AccountId },
    #[error(
        "account {account}: pending totals (debits {recorded_debits}, credits {recorded_credits}) \
         differ from its pending transfers (debits {expected_debits}, credits {expected_credits})"
    )]
    PendingTotalsMismatch {
        account: AccountId,
        recorded_debits: u128,
        recorded_credits: u128,
        expected_debits: u128,
        expected_credits: u128,
    },
    #[error("transfer {transfer} refers to account {account}, which does not exist")]
    DanglingTransfer {
        transfer: TransferId,
        account: AccountId,
    },
    #[error("transfer {transfer} ended as {first:?} and then became {then:?}")]
    EndedTwice {
        transfer: TransferId,
        first: TransferState,
        then: TransferState,
    },
    #[error("transfer {transfer} disappeared")]
    TransferLost { transfer: TransferId },
    #[error("the ledger counts {recorded} pending transfers but holds {counted}")]
    PendingCountMismatch { recorded: usize, counted: usize },
    #[error("totals overflow u128")]
    TotalOverflow,
}

#[derive(Default)]
struct Totals {
    debits_pending: u128,
    debits_posted: u128,
    credits_pending: u128,
    credits_posted: u128,
}

fn add(total: &mut u128, amount: u128) -> Result<(), Violation> {
    *total = total.checked_add(amount).ok_or(Violation::TotalOverflow)?;
    Ok(())
}

/// Invariants 1 and 2.
pub fn check_accounts<'a>(
    accounts: impl IntoIterator<Item = &'a Account>,
) -> Result<(), Violation> {
    let mut per_ledger: BTreeMap<LedgerId, Totals> = BTreeMap::new();
    for account in accounts {
        if !account.within_limit() {
            return Err(Violation::LimitExceeded {
                account: account.id,
            });
        }
        let totals = per_ledger.entry(account.ledger).or_default();
        add(&mut totals.debits_pending, account.debits_pending)?;
        add(&mut totals.debits_posted, account.debits_posted)?;
        add(&mut totals.credits_pending, account.credits_pending)?;
        add(&mut totals.credits_posted, account.credits_posted)?;
    }
    for (ledger, totals) in per_ledger {
        if totals.debits_pending != totals.credits_pending {
            return Err(Violation::UnbalancedPending {
                ledger,
                debits: totals.debits_pending,
                credits: totals.credits_pending,
            });
        }
        if totals.debits_posted != totals.credits_posted {
            return Err(Violation::UnbalancedPosted {
                ledger,
                debits: totals.debits_posted,
                credits: totals.credits_posted,
            });
        }
    }
    Ok(())
}

/// Invariant 3.
pub fn check_pending_totals<'a>(
    accounts: impl IntoIterator<Item = &'a Account>,
    transfers: impl IntoIterator<Item = &'a Transfer>,
) -> Result<(), Violation> {
    let accounts: Vec<&Account> = accounts.into_iter().collect();
    let mut expected: HashMap<AccountId, Totals> =
        accounts.iter().map(|a| (a.id, Totals::default())).collect();
    for transfer in transfers {
        if transfer.state != TransferState::Pending {
            continue;
        }
        let amount = u128::from(transfer.amount);
        for (account, is_debit) in [
            (transfer.debit_account, true),
            (transfer.credit_account, false),
        ] {
            let totals = expected
                .get_mut(&account)
                .ok_or(Violation::DanglingTransfer {
                    transfer: transfer.id,
                    account,
                })?;
            let total = if is_debit {
                &mut totals.debits_pending
            } else {
                &mut totals.credits_pending
            };
            add(total, amount)?;
        }
    }
    for account in accounts {
        let Some(totals) = expected.get(&account.id) else {
            continue;
        };
        if (account.debits_pending, account.credits_pending)
            != (totals.debits_pending, totals.credits_pending)
        {
            return Err(Violation::PendingTotalsMismatch {
                account: account.id,
                recorded_debits: account.debits_pending,
                recorded_credits: account.credits_pending,
                expected_debits: totals.debits_pending,
                expected_credits: totals.credits_pending,
            });
        }
    }
    Ok(())
}

/// Invariant 4, between two snapshots of transfer states taken in order.
pub fn check_resolutions(
    before: &HashMap<TransferId, TransferState>,
    after: &HashMap<TransferId, TransferState>,
) -> Result<(), Violation> {
    for (&transfer, &first) in before {
        let Some(&then) = after.get(&transfer) else {
            return Err(Violation::TransferLost { transfer });
        };
        if first.is_final() && then != first {
            return Err(Violation::EndedTwice {
                transfer,
                first,
                then,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
