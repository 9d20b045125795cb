//! What the connector asks of an instance for each packet: where it goes next, the liquidity it
//! moves, and the transfers an account has seen.

use std::sync::Arc;

use uuid::Uuid;

use super::{AccountTransfers, Instance, LiquidityError, Peer, parse_id};
use crate::ilp::{Address, IldcpResponse};
use crate::ledger::{AccountId, NewTransfer, Phase, TransferId, TransferKind};

impl Instance {
    /// The peer a packet from `from` to `destination` goes to next: the longest route prefix, in
    /// the incoming peer's asset (peerlab has no exchange rates), never back to `from`.
    pub fn next_hop(&self, from: &Peer, destination: &Address) -> Option<Arc<Peer>> {
        let state = self.lock();
        let route = state
            .routing
            .next_hop(destination, Some(from.id), Some(from.asset_id))?;
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

    /// Posts (the packet was fulfilled) or voids (anything else) a packet's reservation.
    pub fn settle_packet(&self, id: TransferId, fulfilled: bool) -> Result<(), LiquidityError> {
        let mut state = self.lock();
        if fulfilled {
            Ok(state.accounting.post(id)?)
        } else {
            Ok(state.accounting.void(id)?)
        }
    }

    /// The IL-DCP answer for `peer`: its own address and the asset of our account with it.
    pub fn ildcp_response(&self, peer: &Peer) -> Option<IldcpResponse> {
        let asset = self.asset_including_deleted(peer.asset_id)?;
        IldcpResponse::new(peer.static_ilp_address.clone(), asset.scale, asset.code).ok()
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
