//! Liquidity: deposits into and withdrawals out of peers' and assets' liquidity accounts, and
//! posting or voiding two-phase withdrawals.

use uuid::Uuid;

use super::{Instance, LiquidityError, State, WithdrawalMode, parse_id};
use crate::ledger::{AccountId, Phase, TransferId, TransferKind};

/// Whose liquidity an operation moves.
#[derive(Debug, Clone, Copy)]
enum Holder {
    Peer,
    Asset,
}

impl Instance {
    /// Withdraws everything a wallet address holds (`createWalletAddressWithdrawal`, as Rafiki
    /// withdraws a wallet address's received money): its balance, read and withdrawn in one step.
    /// Returns the amount. Nothing to withdraw is [`LiquidityError::AmountZero`].
    pub fn create_wallet_address_withdrawal(
        &self,
        transfer_id: &str,
        wallet_address_id: &str,
        mode: WithdrawalMode,
    ) -> Result<u64, LiquidityError> {
        let phase = phase_of(mode)?;
        let mut state = self.lock();
        let account = parse_id(wallet_address_id)
            .filter(|id| state.wallet_addresses.contains(*id))
            .map(AccountId)
            .ok_or(LiquidityError::UnknownWalletAddress)?;
        let balance = state.accounting.ledger().balance(account)?;
        let amount = u64::try_from(balance).map_err(|_| LiquidityError::BalanceOverflow)?;
        if amount == 0 {
            return Err(LiquidityError::AmountZero);
        }
        let id = TransferId::parse(transfer_id)?;
        state.accounting.withdraw(id, account, amount, phase)?;
        Ok(amount)
    }

    /// Adds liquidity to a peer (`addPeerLiquidity` / `depositPeerLiquidity`).
    pub fn deposit_peer_liquidity(
        &self,
        transfer_id: &str,
        peer_id: &str,
        amount: u64,
    ) -> Result<(), LiquidityError> {
        self.deposit(Holder::Peer, transfer_id, peer_id, amount)
    }

    /// Adds liquidity to an asset (`addAssetLiquidity` / `depositAssetLiquidity`).
    pub fn deposit_asset_liquidity(
        &self,
        transfer_id: &str,
        asset_id: &str,
        amount: u64,
    ) -> Result<(), LiquidityError> {
        self.deposit(Holder::Asset, transfer_id, asset_id, amount)
    }

    /// Withdraws a peer's liquidity, at once or in two phases.
    pub fn create_peer_withdrawal(
        &self,
        transfer_id: &str,
        peer_id: &str,
        amount: u64,
        mode: WithdrawalMode,
    ) -> Result<(), LiquidityError> {
        self.withdraw(Holder::Peer, transfer_id, peer_id, amount, mode)
    }

    /// Withdraws an asset's liquidity, at once or in two phases.
    pub fn create_asset_withdrawal(
        &self,
        transfer_id: &str,
        asset_id: &str,
        amount: u64,
        mode: WithdrawalMode,
    ) -> Result<(), LiquidityError> {
        self.withdraw(Holder::Asset, transfer_id, asset_id, amount, mode)
    }

    /// Commits a two-phase withdrawal.
    pub fn post_withdrawal(&self, withdrawal_id: &str) -> Result<(), LiquidityError> {
        let mut state = self.lock();
        let id = withdrawal(&state, withdrawal_id)?;
        let posted = state.accounting.post(id)?;
        state.after_posted(&posted);
        // A payment's withdrawal that empties its account settles the payment.
        state.payment_account_changed(posted.debit_account);
        Ok(())
    }

    /// Cancels a two-phase withdrawal: the amount returns to the liquidity account.
    pub fn void_withdrawal(&self, withdrawal_id: &str) -> Result<(), LiquidityError> {
        let mut state = self.lock();
        let id = withdrawal(&state, withdrawal_id)?;
        let voided = state.accounting.void(id)?;
        state.after_credit(voided.debit_account);
        Ok(())
    }

    fn deposit(
        &self,
        holder: Holder,
        transfer_id: &str,
        holder_id: &str,
        amount: u64,
    ) -> Result<(), LiquidityError> {
        if amount == 0 {
            return Err(LiquidityError::AmountZero);
        }
        let mut state = self.lock();
        let account = holder_account(&state, holder, holder_id)?;
        let id = TransferId::parse(transfer_id)?;
        state.accounting.deposit(id, account, amount)?;
        state.after_deposit(account);
        Ok(())
    }

    fn withdraw(
        &self,
        holder: Holder,
        transfer_id: &str,
        holder_id: &str,
        amount: u64,
        mode: WithdrawalMode,
    ) -> Result<(), LiquidityError> {
        if amount == 0 {
            return Err(LiquidityError::AmountZero);
        }
        let phase = phase_of(mode)?;
        let mut state = self.lock();
        let account = holder_account(&state, holder, holder_id)?;
        let id = TransferId::parse(transfer_id)?;
        state.accounting.withdraw(id, account, amount, phase)?;
        if phase == Phase::Single {
            // A two-phase withdrawal's debit is posted (and watched) by post_withdrawal.
            state.after_debit(account);
        }
        Ok(())
    }
}

pub(super) fn phase_of(mode: WithdrawalMode) -> Result<Phase, LiquidityError> {
    Ok(match mode {
        WithdrawalMode::SinglePhase => Phase::Single,
        WithdrawalMode::TwoPhase => Phase::Pending { timeout_ms: None },
        WithdrawalMode::Expiring { seconds } => Phase::Pending {
            timeout_ms: Some(
                seconds
                    .checked_mul(1_000)
                    .ok_or(LiquidityError::InvalidTimeout)?,
            ),
        },
    })
}

fn holder_account(state: &State, holder: Holder, id: &str) -> Result<AccountId, LiquidityError> {
    let id: Option<Uuid> = parse_id(id);
    match holder {
        Holder::Peer => id
            .and_then(|id| state.peers.get(id))
            .map(|p| AccountId(p.id))
            .ok_or(LiquidityError::UnknownPeer),
        Holder::Asset => state
            .assets
            .iter()
            .find(|a| !a.deleted && Some(a.id) == id)
            .map(|a| AccountId(a.id))
            .ok_or(LiquidityError::UnknownAsset),
    }
}

/// The id of an existing withdrawal; other transfers (deposits, packets) cannot be posted or
/// voided through the admin API.
fn withdrawal(state: &State, withdrawal_id: &str) -> Result<TransferId, LiquidityError> {
    let id = TransferId::parse(withdrawal_id)?;
    match state.accounting.ledger().transfer(id) {
        Some(transfer) if transfer.kind == TransferKind::Withdrawal => Ok(id),
        _ => Err(LiquidityError::UnknownTransfer),
    }
}
