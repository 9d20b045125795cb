//! Events that follow balances: `peer.liquidity_low` / `asset.liquidity_low` when a posted debit
//! leaves a peer's or an asset's liquidity at or below its `liquidityThreshold`, and
//! `wallet_address.web_monetization` when a wallet address has received its asset's
//! `withdrawalThreshold` since its last such event.
//!
//! Rafiki emits `*.liquidity_low` on every posted debit that leaves the balance at or below the
//! threshold: under a stream of packets that is one event per packet, which floods the operator
//! and the webhook queue with the same news. peerlab emits once per crossing: on the debit that
//! takes the balance from above the threshold to at or below it. An account that alerted stays
//! quiet until either its balance is seen above the threshold again (a credit or a debit that
//! leaves it above) or the operator deposits into it: after a deposit the next debit that still
//! leaves it at or below alerts again, so an operator that topped up too little hears about it.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use uuid::Uuid;

use super::{EventType, State};
use crate::ledger::{AccountId, AccountKind, Transfer};

/// Which accounts already alerted, and how much of each wallet address's received money was
/// reported in a web monetization event.
#[derive(Debug, Default)]
pub(super) struct BalanceWatch {
    /// Accounts whose last alert has not been followed by a deposit or a balance above the
    /// threshold. Usually empty, so a credit costs one `is_empty` check.
    alerted: HashSet<Uuid>,
    /// Wallet address id -> the `totalEventsAmount` of Rafiki: received money already reported.
    web_monetization_reported: HashMap<Uuid, u128>,
}

/// What a posted debit means for an account with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterDebit {
    /// Above the threshold: the next debit that goes at or below alerts.
    Above,
    /// At or below, and not yet alerted since the last crossing or deposit.
    Alert,
    /// At or below and already alerted.
    AlreadyAlerted,
}

/// The decision, apart from the state it reads: `alerted` is whether the account alerted since
/// its balance was last seen above the threshold or it last received a deposit.
pub(super) fn after_debit(threshold: u64, balance: u128, alerted: bool) -> AfterDebit {
    if balance > u128::from(threshold) {
        AfterDebit::Above
    } else if alerted {
        AfterDebit::AlreadyAlerted
    } else {
        AfterDebit::Alert
    }
}

/// How much newly received money a web monetization event reports, if one is due: Rafiki's rule,
/// `totalEventsAmount <= totalReceived - withdrawalThreshold`, with something left to report.
pub(super) fn web_monetization_due(
    withdrawal_threshold: Option<u64>,
    total_received: u128,
    reported: u128,
) -> Option<u128> {
    let threshold = u128::from(withdrawal_threshold?);
    let unreported = total_received.checked_sub(reported)?;
    (unreported > 0 && unreported >= threshold).then_some(unreported)
}

/// Whose liquidity an account is, with what threshold and asset.
struct Watched {
    event_type: EventType,
    threshold: u64,
    asset_id: Uuid,
}

impl State {
    /// Reacts to a posted transfer: its debit may alert, its credit may re-arm. Costs a ledger
    /// lookup and a peer lookup for the debited account when no account is alerted.
    pub(super) fn after_posted(&mut self, transfer: &Transfer) {
        self.after_debit(transfer.debit_account);
        self.after_credit(transfer.credit_account);
    }

    /// A posted debit of `account` (a packet's, or a withdrawal's).
    pub(super) fn after_debit(&mut self, account: AccountId) {
        let Some(watched) = self.watched(account) else {
            return;
        };
        let Ok(balance) = self.accounting.ledger().balance(account) else {
            return;
        };
        let alerted = self.balance_watch.alerted.contains(&account.0);
        match after_debit(watched.threshold, balance, alerted) {
            AfterDebit::Above => {
                if alerted {
                    self.balance_watch.alerted.remove(&account.0);
                }
            }
            AfterDebit::AlreadyAlerted => {}
            AfterDebit::Alert => {
                self.balance_watch.alerted.insert(account.0);
                let data = self.liquidity_low_data(account.0, &watched, balance);
                self.events.record(watched.event_type, data);
            }
        }
    }

    /// Money came into `account` other than by a deposit (a packet, a voided reservation): it
    /// re-arms once the balance is back above the threshold.
    pub(super) fn after_credit(&mut self, account: AccountId) {
        if self.balance_watch.alerted.is_empty() || !self.balance_watch.alerted.contains(&account.0)
        {
            return;
        }
        let above = match (
            self.watched(account),
            self.accounting.ledger().balance(account),
        ) {
            (Some(watched), Ok(balance)) => balance > u128::from(watched.threshold),
            // No longer watched (threshold unset, peer deleted): nothing to remember.
            _ => true,
        };
        if above {
            self.balance_watch.alerted.remove(&account.0);
        }
    }

    /// The operator deposited into `account`: the next debit that leaves it at or below its
    /// threshold alerts again, even if the deposit did not lift it above.
    pub(super) fn after_deposit(&mut self, account: AccountId) {
        self.balance_watch.alerted.remove(&account.0);
    }

    /// A wallet address was credited (SPSP / web monetization): records
    /// `wallet_address.web_monetization` when its asset's `withdrawalThreshold` is set and the
    /// money received since the last such event reached it. Rafiki can also emit on a timer
    /// (`WITHDRAWAL_THROTTLE_DELAY`, off by default); peerlab does not.
    pub(super) fn after_wallet_address_credit(&mut self, wallet_address_id: Uuid) {
        let Some(wallet) = self.wallet_addresses.get(wallet_address_id).cloned() else {
            return;
        };
        let Some(asset) = self.assets.iter().find(|a| a.id == wallet.asset_id) else {
            return;
        };
        let Some(account) = self.accounting.ledger().account(AccountId(wallet.id)) else {
            return;
        };
        let reported = self
            .balance_watch
            .web_monetization_reported
            .get(&wallet.id)
            .copied()
            .unwrap_or(0);
        let Some(amount) =
            web_monetization_due(asset.withdrawal_threshold, account.credits_posted, reported)
        else {
            return;
        };
        let data = json!({
            "walletAddress": {
                "id": wallet.id.to_string(),
                "createdAt": crate::text::iso_timestamp(wallet.created_at),
                "receivedAmount": {
                    "value": amount.to_string(),
                    "assetCode": asset.code,
                    "assetScale": asset.scale,
                },
            }
        });
        self.balance_watch
            .web_monetization_reported
            .insert(wallet.id, reported.saturating_add(amount));
        self.events
            .record(EventType::WalletAddressWebMonetization, data);
    }

    /// The threshold of the peer or asset whose liquidity `account` is, when it has one.
    fn watched(&self, account: AccountId) -> Option<Watched> {
        match self.accounting.ledger().account(account)?.kind {
            AccountKind::PeerLiquidity => {
                let peer = self.peers.get(account.0)?;
                Some(Watched {
                    event_type: EventType::PeerLiquidityLow,
                    threshold: peer.liquidity_threshold?,
                    asset_id: peer.asset_id,
                })
            }
            AccountKind::AssetLiquidity => {
                let asset = self
                    .assets
                    .iter()
                    .find(|asset| asset.id == account.0 && !asset.deleted)?;
                Some(Watched {
                    event_type: EventType::AssetLiquidityLow,
                    threshold: asset.liquidity_threshold?,
                    asset_id: asset.id,
                })
            }
            AccountKind::Settlement
            | AccountKind::WalletAddress
            | AccountKind::IncomingPayment
            | AccountKind::OutgoingPayment => None,
        }
    }

    /// Rafiki's data for both events; amounts are strings, as its JSON renders bigints.
    fn liquidity_low_data(&self, id: Uuid, watched: &Watched, balance: u128) -> Value {
        let asset = self.assets.iter().find(|a| a.id == watched.asset_id);
        json!({
            "id": id.to_string(),
            "asset": {
                "id": watched.asset_id.to_string(),
                "code": asset.map(|a| a.code.clone()),
                "scale": asset.map(|a| a.scale),
            },
            "liquidityThreshold": watched.threshold.to_string(),
            "balance": balance.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_debit_alerts_once_when_it_crosses_to_at_or_below_the_threshold() {
        assert_eq!(after_debit(100, 101, false), AfterDebit::Above);
        assert_eq!(after_debit(100, 100, false), AfterDebit::Alert);
        assert_eq!(after_debit(100, 0, false), AfterDebit::Alert);
        assert_eq!(after_debit(100, 50, true), AfterDebit::AlreadyAlerted);
        assert_eq!(after_debit(100, 101, true), AfterDebit::Above);
        assert_eq!(after_debit(0, 0, false), AfterDebit::Alert);
    }

    #[test]
    fn web_monetization_reports_what_was_received_since_the_last_event() {
        assert_eq!(
            web_monetization_due(None, 500, 0),
            None,
            "no threshold, no event"
        );
        assert_eq!(web_monetization_due(Some(100), 99, 0), None);
        assert_eq!(web_monetization_due(Some(100), 100, 0), Some(100));
        assert_eq!(web_monetization_due(Some(100), 250, 100), Some(150));
        assert_eq!(web_monetization_due(Some(100), 150, 100), None);
        assert_eq!(web_monetization_due(Some(0), 100, 100), None, "nothing new");
        assert_eq!(web_monetization_due(Some(0), 101, 100), Some(1));
    }

    use crate::ilp::Address;
    use crate::instance::{
        Instance, InstanceSettings, NewAsset, NewPeer, WebhookEvent, WithdrawalMode,
    };
    use std::sync::Arc;

    fn instance() -> Instance {
        Instance::new(InstanceSettings {
            ilp_address: Address::parse("test.alerts").unwrap(),
            instance_name: "ALERTS".into(),
            open_payments_url: "http://127.0.0.1:3003".parse().unwrap(),
        })
    }

    fn asset(instance: &Instance, code: &str, liquidity_threshold: Option<u64>) -> Uuid {
        instance
            .create_asset(NewAsset {
                code: code.into(),
                scale: 2,
                withdrawal_threshold: None,
                liquidity_threshold,
            })
            .unwrap()
            .id
    }

    fn peer(instance: &Instance, asset: Uuid, address: &str, threshold: u64) -> Uuid {
        instance
            .create_peer(NewPeer {
                static_ilp_address: address.into(),
                asset_id: asset.to_string(),
                incoming_tokens: vec![format!("{address}-token")],
                outgoing_endpoint: "http://127.0.0.1:9".into(),
                outgoing_token: "out".into(),
                liquidity_threshold: Some(threshold),
                initial_liquidity: Some(1_000),
                ..NewPeer::default()
            })
            .unwrap()
            .id
    }

    fn events(instance: &Instance) -> Vec<Arc<WebhookEvent>> {
        instance.lock().events.iter().cloned().collect()
    }

    fn balances_reported(instance: &Instance, kind: EventType) -> Vec<String> {
        events(instance)
            .iter()
            .filter(|event| event.event_type == kind)
            .map(|event| {
                event.data()["balance"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    fn id() -> String {
        Uuid::new_v4().to_string()
    }

    #[test]
    fn withdrawals_alert_when_posted_and_a_deposit_rearms() {
        let instance = instance();
        let usd = asset(&instance, "USD", None);
        let peer = peer(&instance, usd, "test.peer", 500);
        let peer_id = peer.to_string();
        // Above the threshold: nothing.
        instance
            .create_peer_withdrawal(&id(), &peer_id, 400, WithdrawalMode::SinglePhase)
            .unwrap();
        assert_eq!(
            balances_reported(&instance, EventType::PeerLiquidityLow),
            [] as [&str; 0]
        );
        // Two-phase: nothing until posted.
        let pending = id();
        instance
            .create_peer_withdrawal(&pending, &peer_id, 200, WithdrawalMode::TwoPhase)
            .unwrap();
        assert!(balances_reported(&instance, EventType::PeerLiquidityLow).is_empty());
        instance.post_withdrawal(&pending).unwrap();
        assert_eq!(
            balances_reported(&instance, EventType::PeerLiquidityLow),
            ["400"]
        );
        // Lower still: already reported.
        instance
            .create_peer_withdrawal(&id(), &peer_id, 100, WithdrawalMode::SinglePhase)
            .unwrap();
        assert_eq!(
            balances_reported(&instance, EventType::PeerLiquidityLow),
            ["400"]
        );
        // A deposit that leaves it below: the next debit reports again.
        instance
            .deposit_peer_liquidity(&id(), &peer_id, 50)
            .unwrap();
        instance
            .create_peer_withdrawal(&id(), &peer_id, 10, WithdrawalMode::SinglePhase)
            .unwrap();
        assert_eq!(
            balances_reported(&instance, EventType::PeerLiquidityLow),
            ["400", "340"]
        );
        instance.audit().unwrap();
    }

    #[test]
    fn packets_crossing_assets_alert_for_the_asset_they_drain() {
        let instance = instance();
        let usd = asset(&instance, "USD", None);
        let eur = asset(&instance, "EUR", Some(900));
        let from = peer(&instance, usd, "test.from", 0);
        let to = peer(&instance, eur, "test.to", 0);
        instance
            .deposit_asset_liquidity(&id(), &eur.to_string(), 1_000)
            .unwrap();
        let (from, to) = (
            instance.peer(&from.to_string()).unwrap(),
            instance.peer(&to.to_string()).unwrap(),
        );
        for _ in 0..3 {
            let [incoming, outgoing] = instance
                .reserve_exchange(from.as_source(), &to, 60, 50, 1_000)
                .unwrap();
            instance.settle_packet(incoming, true).unwrap();
            instance.settle_packet(outgoing, true).unwrap();
        }
        // EUR's liquidity went 1000 -> 950 -> 900 (alert) -> 850 (already reported).
        assert_eq!(
            balances_reported(&instance, EventType::AssetLiquidityLow),
            ["900"]
        );
        let event = events(&instance)
            .into_iter()
            .find(|event| event.event_type == EventType::AssetLiquidityLow)
            .unwrap();
        assert_eq!(
            event.data(),
            json!({
                "id": eur.to_string(),
                "asset": {"id": eur.to_string(), "code": "EUR", "scale": 2},
                "liquidityThreshold": "900",
                "balance": "900",
            })
        );
        // A deposit re-arms it (850 -> 950): the next debit that leaves it at or below reports.
        instance
            .deposit_asset_liquidity(&id(), &eur.to_string(), 100)
            .unwrap();
        let [incoming, outgoing] = instance
            .reserve_exchange(from.as_source(), &to, 60, 100, 1_000)
            .unwrap();
        instance.settle_packet(incoming, true).unwrap();
        instance.settle_packet(outgoing, true).unwrap();
        assert_eq!(
            balances_reported(&instance, EventType::AssetLiquidityLow),
            ["900", "850"]
        );
        instance.audit().unwrap();
    }
}
