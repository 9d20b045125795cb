//! What the connector asks of an instance for each packet: where it goes next, the liquidity it
//! moves, and the transfers an account has seen.

use std::sync::Arc;

use uuid::Uuid;

use super::{
    AccountTransfers, Instance, LiquidityError, PacketSource, Peer, WalletAddress, parse_id,
};

/// How long a received packet's transfers could stay pending: they are posted in the same step.
const RECEIVE_HOLD_MS: u64 = 1_000;
use crate::ilp::{Address, IldcpResponse};
use crate::ledger::{AccountId, NewTransfer, Phase, TransferId, TransferKind};

impl Instance {
    /// The peer a packet from `from` to `destination` goes to next: the longest route prefix in
    /// any asset, as in Rafiki (whose connector does not filter routes by asset), preferring a
    /// peer in the incoming peer's asset among that prefix's routes; never back to `from`.
    pub fn next_hop(&self, from: PacketSource<'_>, destination: &Address) -> Option<Arc<Peer>> {
        let state = self.lock();
        let route = state
            .routing
            .next_hop_preferring(destination, from.id, from.asset_id)?;
        state.peers.get(route.peer_id).cloned()
    }

    /// Reserves `amount` of `from`'s liquidity for a packet on its way to `to`: a pending transfer
    /// from the incoming peer's account to the outgoing peer's, expiring after `timeout_ms`. The
    /// ledger keeps it only until it ends; its id is generated here, so it needs no duplicate
    /// detection after that.
    pub fn reserve_packet(
        &self,
        from: Uuid,
        to: Uuid,
        amount: u64,
        timeout_ms: u64,
    ) -> Result<TransferId, LiquidityError> {
        let id = TransferId::random();
        self.lock().accounting.reserve_packet(NewTransfer {
            id,
            debit_account: AccountId(from),
            credit_account: AccountId(to),
            amount,
            kind: TransferKind::Transfer,
            phase: Phase::Pending {
                timeout_ms: Some(timeout_ms),
            },
        })?;
        Ok(id)
    }

    /// Reserves liquidity for a packet crossing from `from`'s asset to `to`'s: `amount` from the
    /// incoming peer's account into its asset's liquidity account, and `outgoing_amount` from
    /// the outgoing asset's liquidity account to the outgoing peer's, both pending for
    /// `timeout_ms`, both or neither (Rafiki's accounting for a transfer between assets). Too
    /// little liquidity in the outgoing asset is [`LiquidityError::InsufficientBalance`] too.
    pub fn reserve_exchange(
        &self,
        from: PacketSource<'_>,
        to: &Peer,
        amount: u64,
        outgoing_amount: u64,
        timeout_ms: u64,
    ) -> Result<[TransferId; 2], LiquidityError> {
        let ids = [TransferId::random(), TransferId::random()];
        let leg = |id, debit: Uuid, credit: Uuid, amount| NewTransfer {
            id,
            debit_account: AccountId(debit),
            credit_account: AccountId(credit),
            amount,
            kind: TransferKind::Transfer,
            phase: Phase::Pending {
                timeout_ms: Some(timeout_ms),
            },
        };
        self.lock().accounting.reserve_packet_legs(&[
            leg(ids[0], from.id, from.asset_id, amount),
            leg(ids[1], to.asset_id, to.id, outgoing_amount),
        ])?;
        Ok(ids)
    }

    /// Credits a wallet address with a packet its STREAM receiver fulfills: `amount` from the
    /// incoming peer's account, `arrived` (the same, or converted into the wallet address's
    /// asset) into the wallet address's account; across assets through both assets' liquidity
    /// accounts. All or nothing, recorded as packet transfers.
    pub fn receive_packet(
        &self,
        from: PacketSource<'_>,
        wallet: &WalletAddress,
        amount: u64,
        arrived: u64,
    ) -> Result<(), LiquidityError> {
        let leg = |debit: Uuid, credit: Uuid, amount| NewTransfer {
            id: TransferId::random(),
            debit_account: AccountId(debit),
            credit_account: AccountId(credit),
            amount,
            kind: TransferKind::Transfer,
            // Posted at once below; pending only so that both legs go in, or neither.
            phase: Phase::Pending {
                timeout_ms: Some(RECEIVE_HOLD_MS),
            },
        };
        let legs = if from.asset_id == wallet.asset_id {
            vec![leg(from.id, wallet.id, amount)]
        } else {
            vec![
                leg(from.id, from.asset_id, amount),
                leg(wallet.asset_id, wallet.id, arrived),
            ]
        };
        let mut state = self.lock();
        state.accounting.reserve_packet_legs(&legs)?;
        for leg in &legs {
            let posted = state.accounting.post(leg.id)?;
            state.after_posted(&posted);
        }
        state.after_wallet_address_credit(wallet.id);
        Ok(())
    }

    /// Posts (the packet was fulfilled) or voids (anything else) a packet's reservation. A posted
    /// debit may record a low-liquidity event; a void gives the reservation back to the debited
    /// account, which may re-arm it.
    pub fn settle_packet(&self, id: TransferId, fulfilled: bool) -> Result<(), LiquidityError> {
        let mut state = self.lock();
        let ended = if fulfilled {
            let posted = state.accounting.post(id)?;
            state.after_posted(&posted);
            posted
        } else {
            let voided = state.accounting.void(id)?;
            state.after_credit(voided.debit_account);
            voided
        };
        state.outgoing_packet_ended(ended.debit_account);
        Ok(())
    }

    /// The IL-DCP answer for `from`: its own address and the asset of its account with us.
    pub fn ildcp_response(&self, from: PacketSource<'_>) -> Option<IldcpResponse> {
        let asset = self.asset_including_deleted(from.asset_id)?;
        IldcpResponse::new(from.address.clone(), asset.scale, asset.code).ok()
    }

    /// The transfers of the account `id` (a peer's or an asset's id): for debits and for credits,
    /// every admin-made transfer and the latest [`super::RECENT_PACKET_TRANSFERS`] packet
    /// transfers that ended, oldest first, the first `limit` of them; plus running totals of every
    /// packet transfer that ended. Costs the account's admin-made transfers plus the answer.
    pub fn accounting_transfers(&self, id: &str, limit: usize) -> AccountTransfers {
        let Some(account) = parse_id(id).map(AccountId) else {
            return AccountTransfers::default();
        };
        self.lock().accounting.account_transfers(account, limit)
    }

    /// How many transfers are still pending (packets' and two-phase withdrawals'): none once
    /// every packet has been settled. A counter, not a scan.
    pub fn pending_transfer_count(&self) -> usize {
        self.lock().accounting.ledger().pending_count()
    }
}
