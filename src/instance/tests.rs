use super::*;

fn instance() -> Instance {
    Instance::new(InstanceSettings {
        ilp_address: Address::parse("test.cloud-nine-wallet").unwrap(),
        instance_name: "CLOUD-NINE".into(),
        open_payments_url: "http://127.0.0.1:3003".parse().unwrap(),
    })
}

fn usd(instance: &Instance) -> Asset {
    instance
        .create_asset(NewAsset {
            code: "USD".into(),
            scale: 2,
            ..NewAsset::default()
        })
        .unwrap()
}

fn new_peer(asset: &Asset) -> NewPeer {
    NewPeer {
        static_ilp_address: "g.othergreatwallet".into(),
        name: Some("The Other Great Wallet".into()),
        asset_id: asset.id.to_string(),
        incoming_tokens: vec!["mytoken".into()],
        outgoing_endpoint: "http://127.0.0.1:3002".into(),
        outgoing_token: "theirtoken".into(),
        ..NewPeer::default()
    }
}

/// A fresh transfer id, as a client would send it.
fn id() -> String {
    Uuid::new_v4().to_string()
}

#[test]
fn assets_are_unique_by_code_and_scale_and_reactivate_after_delete() {
    let instance = instance();
    let asset = usd(&instance);
    assert_eq!(
        instance.create_asset(NewAsset {
            code: "USD".into(),
            scale: 2,
            ..Default::default()
        }),
        Err(AssetError::DuplicateAsset)
    );
    let eur2 = instance
        .create_asset(NewAsset {
            code: "USD".into(),
            scale: 3,
            ..Default::default()
        })
        .unwrap();
    assert_ne!(eur2.ledger, asset.ledger);
    instance
        .deposit_asset_liquidity(&id(), &asset.id.to_string(), 50)
        .unwrap();
    instance.delete_asset(&asset.id.to_string()).unwrap();
    assert_eq!(instance.asset(&asset.id.to_string()), None);
    let again = usd(&instance);
    assert_eq!(again.id, asset.id);
    assert_eq!(instance.asset_liquidity(asset.id), Some(50));
    for bad in ["", "  ", "U SD", &"X".repeat(256)] {
        assert_eq!(
            instance.create_asset(NewAsset {
                code: bad.into(),
                scale: 2,
                ..Default::default()
            }),
            Err(AssetError::InvalidCode)
        );
    }
}

#[test]
fn an_asset_in_use_cannot_be_deleted() {
    let instance = instance();
    let asset = usd(&instance);
    instance.create_peer(new_peer(&asset)).unwrap();
    assert_eq!(
        instance.delete_asset(&asset.id.to_string()),
        Err(AssetError::CannotDeleteInUseAsset)
    );
    assert_eq!(instance.delete_asset("nope"), Err(AssetError::UnknownAsset));
}

#[test]
fn create_peer_validates_in_rafikis_order() {
    let instance = instance();
    let asset = usd(&instance);
    let mut bad = new_peer(&asset);
    bad.static_ilp_address = "test.hello!".into();
    bad.outgoing_endpoint = "nope".into();
    bad.asset_id = "nope".into();
    assert_eq!(
        instance.create_peer(bad.clone()),
        Err(PeerError::InvalidStaticIlpAddress)
    );
    bad.static_ilp_address = "test.hello".into();
    assert_eq!(
        instance.create_peer(bad.clone()),
        Err(PeerError::InvalidHttpEndpoint)
    );
    bad.outgoing_endpoint = "http://.com".into();
    assert_eq!(
        instance.create_peer(bad.clone()),
        Err(PeerError::InvalidHttpEndpoint)
    );
    bad.outgoing_endpoint = "ilp.othergreatwallet.com".into();
    assert_eq!(
        instance.create_peer(bad.clone()),
        Err(PeerError::InvalidHttpEndpoint)
    );
    bad.outgoing_endpoint = "https://ilp.othergreatwallet.com".into();
    assert_eq!(
        instance.create_peer(bad.clone()),
        Err(PeerError::UnknownAsset)
    );

    let peer = instance.create_peer(new_peer(&asset)).unwrap();
    assert_eq!(peer.routes, vec!["g.othergreatwallet".to_string()]);
    assert_eq!(
        instance.create_peer(new_peer(&asset)),
        Err(PeerError::DuplicatePeer)
    );
    let mut same_token = new_peer(&asset);
    same_token.static_ilp_address = "g.another".into();
    assert_eq!(
        instance.create_peer(same_token.clone()),
        Err(PeerError::DuplicateIncomingToken)
    );
    same_token.incoming_tokens = vec!["a".into(), "a".into()];
    assert_eq!(
        instance.create_peer(same_token),
        Err(PeerError::DuplicateIncomingToken)
    );
    assert_eq!(
        instance
            .peers_page(&PageRequest::default())
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn initial_liquidity_is_deposited_and_tokens_find_their_peer() {
    let instance = instance();
    let asset = usd(&instance);
    let mut new = new_peer(&asset);
    new.initial_liquidity = Some(10_000);
    let peer = instance.create_peer(new).unwrap();
    assert_eq!(instance.peer_liquidity(peer.id), Some(10_000));
    assert_eq!(
        instance.peer_by_incoming_token("mytoken").map(|p| p.id),
        Some(peer.id)
    );
    assert_eq!(instance.peer_by_incoming_token("theirtoken"), None);
    assert_eq!(
        instance
            .peer_by_address_and_asset("g.othergreatwallet.alice", &asset.id.to_string())
            .map(|p| p.id),
        Some(peer.id)
    );
    assert_eq!(
        instance.peer_by_address_and_asset("g.other", &asset.id.to_string()),
        None
    );
    instance.audit().unwrap();
}

#[test]
fn updating_a_peer_replaces_tokens_routes_and_address() {
    let instance = instance();
    let asset = usd(&instance);
    let peer = instance.create_peer(new_peer(&asset)).unwrap();
    let updated = instance
        .update_peer(PeerUpdate {
            id: peer.id.to_string(),
            static_ilp_address: Some("g.renamed".into()),
            http: Some(HttpUpdate {
                incoming_tokens: Some(vec!["fresh".into()]),
                outgoing_endpoint: "https://peer.example:4002/ilp".into(),
                outgoing_token: "new-out".into(),
            }),
            routes: Some(vec!["g.elsewhere".into()]),
            max_packet_amount: Some(1000),
            ..PeerUpdate::default()
        })
        .unwrap();
    assert_eq!(
        updated.routes,
        vec!["g.renamed".to_string(), "g.elsewhere".to_string()]
    );
    assert_eq!(updated.outgoing.auth_token, "new-out");
    assert_eq!(updated.max_packet_amount, Some(1000));
    assert_eq!(updated.name, peer.name);
    assert_eq!(instance.peer_by_incoming_token("mytoken"), None);
    assert!(instance.peer_by_incoming_token("fresh").is_some());
    let asset_id = asset.id.to_string();
    assert!(
        instance
            .peer_by_address_and_asset("g.othergreatwallet", &asset_id)
            .is_none()
    );
    assert!(
        instance
            .peer_by_address_and_asset("g.elsewhere.x", &asset_id)
            .is_some()
    );

    let unknown = PeerUpdate {
        id: Uuid::new_v4().to_string(),
        ..PeerUpdate::default()
    };
    assert_eq!(instance.update_peer(unknown), Err(PeerError::UnknownPeer));
    instance.delete_peer(&peer.id.to_string()).unwrap();
    assert_eq!(
        instance.delete_peer(&peer.id.to_string()),
        Err(PeerError::UnknownPeer)
    );
    assert!(instance.peer_by_incoming_token("fresh").is_none());
    assert!(
        instance
            .peer_by_address_and_asset("g.renamed", &asset_id)
            .is_none()
    );
}

#[test]
fn withdrawals_follow_the_timeout_modes() {
    let instance = instance();
    let asset = usd(&instance);
    let peer = instance.create_peer(new_peer(&asset)).unwrap();
    let peer_id = peer.id.to_string();
    instance
        .deposit_peer_liquidity(&id(), &peer_id, 100)
        .unwrap();

    let two_phase = id();
    instance
        .create_peer_withdrawal(&two_phase, &peer_id, 30, WithdrawalMode::TwoPhase)
        .unwrap();
    assert_eq!(instance.peer_liquidity(peer.id), Some(70));
    instance.void_withdrawal(&two_phase).unwrap();
    assert_eq!(instance.peer_liquidity(peer.id), Some(100));
    assert_eq!(
        instance.post_withdrawal(&two_phase),
        Err(LiquidityError::AlreadyVoided)
    );

    instance
        .create_peer_withdrawal(&id(), &peer_id, 10, WithdrawalMode::SinglePhase)
        .unwrap();
    assert_eq!(instance.peer_liquidity(peer.id), Some(90));

    let errors = [
        (
            instance.create_peer_withdrawal(&id(), &peer_id, 0, WithdrawalMode::TwoPhase),
            LiquidityError::AmountZero,
        ),
        (
            instance.create_peer_withdrawal(&id(), "nope", 1, WithdrawalMode::TwoPhase),
            LiquidityError::UnknownPeer,
        ),
        (
            instance.create_peer_withdrawal("nope", &peer_id, 1, WithdrawalMode::TwoPhase),
            LiquidityError::InvalidId,
        ),
        (
            instance.create_peer_withdrawal(&id(), &peer_id, 91, WithdrawalMode::TwoPhase),
            LiquidityError::InsufficientBalance,
        ),
        (
            instance.create_peer_withdrawal(
                &id(),
                &peer_id,
                1,
                WithdrawalMode::Expiring { seconds: u64::MAX },
            ),
            LiquidityError::InvalidTimeout,
        ),
        (
            instance.post_withdrawal(&id()),
            LiquidityError::UnknownTransfer,
        ),
        (instance.void_withdrawal("x"), LiquidityError::InvalidId),
        (
            instance.deposit_asset_liquidity(&id(), "nope", 1),
            LiquidityError::UnknownAsset,
        ),
    ];
    for (result, expected) in errors {
        assert_eq!(result, Err(expected));
    }
    assert_eq!(instance.peer_liquidity(peer.id), Some(90));
    instance.audit().unwrap();
}

#[test]
fn deposits_cannot_be_posted_as_withdrawals() {
    let instance = instance();
    let asset = usd(&instance);
    let deposit = id();
    instance
        .deposit_asset_liquidity(&deposit, &asset.id.to_string(), 5)
        .unwrap();
    assert_eq!(
        instance.post_withdrawal(&deposit),
        Err(LiquidityError::UnknownTransfer)
    );
    assert_eq!(
        instance.deposit_asset_liquidity(&deposit, &asset.id.to_string(), 5),
        Err(LiquidityError::TransferExists)
    );
}

// === packets' transfers and what accountingTransfers keeps of them ===

/// A USD peer at `address` presenting `token`, funded with `liquidity`.
fn funded_peer(instance: &Instance, asset: &Asset, address: &str, liquidity: u64) -> Arc<Peer> {
    instance
        .create_peer(NewPeer {
            static_ilp_address: address.into(),
            incoming_tokens: vec![format!("token-{address}")],
            initial_liquidity: Some(liquidity),
            ..new_peer(asset)
        })
        .unwrap()
}

const PACKET_TIMEOUT_MS: u64 = 30_000;

/// Sends `amount` from `from` to `to` as a packet would: reserved, then posted or voided.
fn packet(instance: &Instance, from: &Peer, to: &Peer, amount: u64, fulfilled: bool) -> Uuid {
    let id = instance
        .reserve_packet(from.id, to.id, amount, PACKET_TIMEOUT_MS)
        .unwrap();
    instance.settle_packet(id, fulfilled).unwrap();
    id.uuid()
}

fn ids(records: &[TransferRecord]) -> Vec<Uuid> {
    records.iter().map(|r| r.id).collect()
}

#[test]
fn memory_stays_flat_over_100_000_packets() {
    let instance = instance();
    let asset = usd(&instance);
    let alice = funded_peer(&instance, &asset, "test.alice", 1_000_000);
    let bob = funded_peer(&instance, &asset, "test.bob", 1_000_000);
    let withdrawal = id();
    instance
        .create_peer_withdrawal(
            &withdrawal,
            &bob.id.to_string(),
            7,
            WithdrawalMode::TwoPhase,
        )
        .unwrap();
    let admin_transfers = 3;
    for n in 0..100_000u64 {
        // Mostly fulfilled, from alice to bob; every tenth rejected; every third the other way.
        let (from, to) = if n % 3 == 0 {
            (&bob, &alice)
        } else {
            (&alice, &bob)
        };
        packet(&instance, from, to, 1 + n % 5, n % 10 != 0);
    }
    {
        let state = instance.lock();
        assert_eq!(
            state.accounting.ledger().transfers().count(),
            admin_transfers,
            "only the deposits and the withdrawal stay in the ledger"
        );
        // Alice's and bob's accounts each hold at most the latest packets.
        assert_eq!(
            state.accounting.history().packet_records(),
            2 * RECENT_PACKET_TRANSFERS
        );
    }
    assert_eq!(instance.pending_transfer_count(), 1);
    let answer = instance.accounting_transfers(&alice.id.to_string(), 1_000);
    assert_eq!(
        answer.debits.len() + answer.credits.len(),
        1 + RECENT_PACKET_TRANSFERS
    );
    instance.audit().unwrap();
}

#[test]
fn accounting_transfers_lists_admin_transfers_and_the_latest_packets_with_totals() {
    let instance = instance();
    let asset = usd(&instance);
    let alice = funded_peer(&instance, &asset, "test.alice", 100_000);
    let bob = funded_peer(&instance, &asset, "test.bob", 100_000);
    let alice_id = alice.id.to_string();
    let withdrawal = id();
    instance
        .create_peer_withdrawal(&withdrawal, &alice_id, 50, WithdrawalMode::TwoPhase)
        .unwrap();

    let mut alice_debits = Vec::new();
    let mut alice_credits = Vec::new();
    let (mut posted_amount, mut posted, mut voided) = (0u128, 0u64, 0u64);
    for n in 0..150u64 {
        if n % 4 == 3 {
            alice_credits.push(packet(&instance, &bob, &alice, 2, true));
        } else {
            let fulfilled = n % 5 != 0;
            alice_debits.push(packet(&instance, &alice, &bob, n + 1, fulfilled));
            if fulfilled {
                posted += 1;
                posted_amount += u128::from(n + 1);
            } else {
                voided += 1;
            }
        }
    }
    // The latest 100 to end on alice's account, debits and credits together.
    let dropped = alice_debits.len() + alice_credits.len() - RECENT_PACKET_TRANSFERS;
    let mut order: Vec<(bool, Uuid)> = Vec::new();
    let (mut d, mut c) = (alice_debits.iter(), alice_credits.iter());
    for n in 0..150u64 {
        if n % 4 == 3 {
            order.push((false, *c.next().unwrap()));
        } else {
            order.push((true, *d.next().unwrap()));
        }
    }
    let latest = &order[dropped..];
    let latest_debits: Vec<Uuid> = latest.iter().filter(|(d, _)| *d).map(|x| x.1).collect();
    let latest_credits: Vec<Uuid> = latest.iter().filter(|(d, _)| !*d).map(|x| x.1).collect();

    let answer = instance.accounting_transfers(&alice_id, 1_000);
    // The withdrawal first (it is the oldest), still pending, then the packets oldest first.
    assert_eq!(answer.debits[0].id.to_string(), withdrawal);
    assert_eq!(answer.debits[0].state, TransferRecordState::Pending);
    assert_eq!(answer.debits[0].kind, TransferRecordKind::Withdrawal);
    assert_eq!(ids(&answer.debits[1..]), latest_debits);
    assert_eq!(answer.credits[0].kind, TransferRecordKind::Deposit);
    assert_eq!(answer.credits[0].amount, 100_000);
    assert_eq!(ids(&answer.credits[1..]), latest_credits);
    let last = answer.debits.last().unwrap();
    assert_eq!(
        (last.debit_account, last.credit_account, last.amount),
        (alice.id, bob.id, 150)
    );
    assert_eq!(last.state, TransferRecordState::Posted);
    assert_eq!(last.kind, TransferRecordKind::Transfer);
    assert!(last.expires_at.is_some_and(|at| at > last.created_at));
    assert!(
        answer.debits[1..]
            .iter()
            .any(|r| r.state == TransferRecordState::Voided)
    );
    assert_eq!(
        answer.packet_debits,
        PacketTotals {
            posted_count: posted,
            posted_amount,
            voided_count: voided,
            expired_count: 0,
        }
    );
    assert_eq!(answer.packet_credits.posted_count, 37);
    assert_eq!(answer.packet_credits.posted_amount, 74);

    // The admin-made transfer shows its current state; `limit` keeps the oldest.
    instance.post_withdrawal(&withdrawal).unwrap();
    let first_three = instance.accounting_transfers(&alice_id, 3);
    assert_eq!(first_three.debits.len(), 3);
    assert_eq!(first_three.debits[0].state, TransferRecordState::Posted);
    assert_eq!(ids(&first_three.debits[1..]), latest_debits[..2]);
    assert_eq!(first_three.packet_debits, answer.packet_debits);
    assert!(
        instance
            .accounting_transfers(&alice_id, 0)
            .debits
            .is_empty()
    );

    // Bob sees the same packets from the other side.
    let bob_answer = instance.accounting_transfers(&bob.id.to_string(), 1_000);
    assert_eq!(bob_answer.packet_credits, answer.packet_debits);
    assert_eq!(
        instance.accounting_transfers("not an id", 10),
        AccountTransfers::default()
    );
}

#[test]
fn an_expired_packet_transfer_is_counted_and_listed() {
    let instance = instance();
    let asset = usd(&instance);
    let alice = funded_peer(&instance, &asset, "test.alice", 100);
    let bob = funded_peer(&instance, &asset, "test.bob", 100);
    let reserved = instance.reserve_packet(alice.id, bob.id, 40, 1).unwrap();
    assert_eq!(instance.pending_transfer_count(), 1);
    assert_eq!(instance.peer_liquidity(alice.id), Some(60));
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(instance.pending_transfer_count(), 0);
    assert_eq!(instance.peer_liquidity(alice.id), Some(100));
    assert_eq!(
        instance.settle_packet(reserved, true),
        Err(LiquidityError::UnknownTransfer)
    );
    let answer = instance.accounting_transfers(&alice.id.to_string(), 10);
    assert_eq!(ids(&answer.debits), vec![reserved.uuid()]);
    assert_eq!(answer.debits[0].state, TransferRecordState::Expired);
    assert_eq!(answer.packet_debits.expired_count, 1);
    assert_eq!(answer.packet_debits.posted_count, 0);
    assert_eq!(instance.lock().accounting.ledger().transfers().count(), 2);
    instance.audit().unwrap();
}

mod wallet_addresses {
    use super::*;

    fn new(asset: &Asset, address: &str) -> NewWalletAddress {
        NewWalletAddress {
            asset_id: asset.id.to_string(),
            address: address.into(),
            public_name: Some("Alice".into()),
            additional_properties: vec![],
        }
    }

    #[test]
    fn a_wallet_address_is_a_url_under_open_payments_with_its_own_account() {
        let instance = instance();
        let usd = usd(&instance);
        let by_path = instance.create_wallet_address(new(&usd, "alice")).unwrap();
        assert_eq!(by_path.url, "http://127.0.0.1:3003/alice");
        let by_url = instance
            .create_wallet_address(new(&usd, "http://127.0.0.1:3003/Shop/Bob"))
            .unwrap();
        assert_eq!(by_url.url, "http://127.0.0.1:3003/shop/bob");
        assert_eq!(instance.wallet_address_balance(by_path.id), Some(0));
        assert_eq!(
            instance
                .wallet_address_by_url("HTTP://127.0.0.1:3003/ALICE")
                .map(|w| w.id),
            Some(by_path.id)
        );
        assert_eq!(
            instance.wallet_address(&by_url.id.to_string()).as_deref(),
            Some(&*by_url)
        );
        let page = instance
            .wallet_addresses_page(&PageRequest::default())
            .unwrap();
        assert_eq!(
            page.items.iter().map(|w| w.id).collect::<Vec<_>>(),
            vec![by_url.id, by_path.id]
        );
        instance.audit().unwrap();
    }

    #[test]
    fn rafikis_refusals() {
        let instance = instance();
        let usd = usd(&instance);
        instance.create_wallet_address(new(&usd, "alice")).unwrap();
        for bad in [
            "",
            "/",
            "http://127.0.0.1:3003/",
            "http://elsewhere:3003/alice",
            "https://127.0.0.1:3003/alice",
            "bob/incoming-payments",
            "bob/quotes/1",
            "bob?x=1",
        ] {
            assert_eq!(
                instance.create_wallet_address(new(&usd, bad)),
                Err(WalletAddressError::InvalidUrl),
                "{bad:?}"
            );
        }
        assert_eq!(
            instance.create_wallet_address(new(&usd, "ALICE")),
            Err(WalletAddressError::DuplicateWalletAddress)
        );
        let mut unknown = new(&usd, "carol");
        unknown.asset_id = Uuid::new_v4().to_string();
        assert_eq!(
            instance.create_wallet_address(unknown),
            Err(WalletAddressError::UnknownAsset)
        );
        let mut long = new(&usd, "carol");
        long.public_name = Some("x".repeat(256));
        assert_eq!(
            instance.create_wallet_address(long),
            Err(WalletAddressError::PublicNameTooLong)
        );
    }

    #[test]
    fn updates_change_only_what_is_given_and_the_asset_stays_in_use() {
        let instance = instance();
        let usd = usd(&instance);
        let mut with_properties = new(&usd, "alice");
        with_properties.additional_properties = vec![
            AdditionalProperty {
                key: "iban".into(),
                value: "NL00".into(),
                visible_in_open_payments: false,
            },
            AdditionalProperty {
                key: String::new(),
                value: "dropped".into(),
                visible_in_open_payments: true,
            },
        ];
        let wallet = instance.create_wallet_address(with_properties).unwrap();
        assert_eq!(wallet.additional_properties.len(), 1);
        let updated = instance
            .update_wallet_address(WalletAddressUpdate {
                id: wallet.id.to_string(),
                active: Some(false),
                ..WalletAddressUpdate::default()
            })
            .unwrap();
        assert!(!updated.active);
        assert_eq!(updated.public_name.as_deref(), Some("Alice"));
        assert_eq!(updated.additional_properties, wallet.additional_properties);
        assert_eq!(
            instance.update_wallet_address(WalletAddressUpdate {
                id: Uuid::new_v4().to_string(),
                ..WalletAddressUpdate::default()
            }),
            Err(WalletAddressError::UnknownWalletAddress)
        );
        assert_eq!(
            instance.delete_asset(&usd.id.to_string()),
            Err(AssetError::CannotDeleteInUseAsset)
        );
    }
}

mod incoming_payments {
    use super::*;
    use crate::instance::incoming_payments::{INCOMING_PAYMENT_EXPIRY_MAX, MAX_INCOMING_PAYMENTS};
    use std::time::{Duration, SystemTime};

    fn wallet(instance: &Instance, asset: &Asset) -> Arc<WalletAddress> {
        instance
            .create_wallet_address(NewWalletAddress {
                asset_id: asset.id.to_string(),
                address: "bob".into(),
                ..NewWalletAddress::default()
            })
            .unwrap()
    }

    fn amount(value: u64) -> Option<AmountInAsset> {
        Some(AmountInAsset {
            value,
            asset_code: "USD".into(),
            asset_scale: 2,
        })
    }

    #[test]
    fn creation_checks_amount_expiry_metadata_and_wallet_address() {
        let instance = instance();
        let asset = usd(&instance);
        let bob = wallet(&instance, &asset);
        let new = |incoming_amount, expires_at, metadata| NewIncomingPayment {
            wallet_address_id: bob.id,
            incoming_amount,
            expires_at,
            metadata,
        };
        let now = SystemTime::now();
        let refused = [
            (
                new(amount(0), None, None),
                IncomingPaymentError::InvalidAmount,
            ),
            (
                new(
                    Some(AmountInAsset {
                        asset_code: "EUR".into(),
                        ..amount(5).unwrap()
                    }),
                    None,
                    None,
                ),
                IncomingPaymentError::InvalidAmount,
            ),
            (
                new(None, Some(now - Duration::from_secs(1)), None),
                IncomingPaymentError::InvalidExpiry,
            ),
            (
                new(
                    None,
                    Some(now + INCOMING_PAYMENT_EXPIRY_MAX + Duration::from_secs(60)),
                    None,
                ),
                IncomingPaymentError::InvalidExpiry,
            ),
            (
                new(
                    None,
                    None,
                    Some(serde_json::json!({ "x": "a".repeat(9_000) })),
                ),
                IncomingPaymentError::MetadataTooLarge,
            ),
            (
                NewIncomingPayment {
                    wallet_address_id: Uuid::new_v4(),
                    ..NewIncomingPayment::default()
                },
                IncomingPaymentError::UnknownWalletAddress,
            ),
        ];
        for (input, error) in refused {
            assert_eq!(instance.create_incoming_payment(input), Err(error));
        }
        let payment = instance
            .create_incoming_payment(new(amount(100), None, None))
            .unwrap();
        assert_eq!(payment.state, IncomingPaymentState::Pending);
        // The default expiry is Rafiki's maximum, 30 days.
        let expiry = payment
            .expires_at
            .duration_since(payment.created_at)
            .unwrap();
        assert_eq!(expiry, INCOMING_PAYMENT_EXPIRY_MAX);
        instance
            .update_wallet_address(WalletAddressUpdate {
                id: bob.id.to_string(),
                active: Some(false),
                ..WalletAddressUpdate::default()
            })
            .unwrap();
        assert_eq!(
            instance.create_incoming_payment(new(None, None, None)),
            Err(IncomingPaymentError::InactiveWalletAddress)
        );
    }

    #[test]
    fn packets_count_until_the_incoming_amount_and_never_past_it() {
        let instance = instance();
        let asset = usd(&instance);
        let peer = instance
            .create_peer(NewPeer {
                initial_liquidity: Some(1_000),
                ..new_peer(&asset)
            })
            .unwrap();
        let bob = wallet(&instance, &asset);
        let payment = instance
            .create_incoming_payment(NewIncomingPayment {
                wallet_address_id: bob.id,
                incoming_amount: amount(100),
                ..NewIncomingPayment::default()
            })
            .unwrap();
        let receive = |arrived| {
            instance.receive_incoming_payment_packet(peer.as_source(), payment.id, arrived, arrived)
        };
        assert_eq!(receive(60).unwrap().state, IncomingPaymentState::Processing);
        // The payment's own account is credited, not the wallet address's.
        assert_eq!(instance.incoming_payment_balance(payment.id), Some(60));
        assert_eq!(instance.wallet_address_balance(bob.id), Some(0));
        // A last packet that overshoots is credited and completes it, as Rafiki's receiver does.
        let completed = receive(45).unwrap();
        assert_eq!(completed.state, IncomingPaymentState::Completed);
        assert_eq!(completed.received_amount, 105);
        assert_eq!(
            receive(1),
            Err(IncomingPacketRefusal::Closed(
                IncomingPaymentState::Completed
            ))
        );
        assert_eq!(instance.incoming_payment_balance(payment.id), Some(105));
        assert_eq!(instance.wallet_address_balance(bob.id), Some(0));
        assert_eq!(instance.pending_transfer_count(), 0);
        instance.audit().unwrap();
    }

    #[test]
    fn an_instance_holds_a_bounded_number_of_incoming_payments() {
        let instance = instance();
        let asset = usd(&instance);
        let bob = wallet(&instance, &asset);
        let new = || NewIncomingPayment {
            wallet_address_id: bob.id,
            ..NewIncomingPayment::default()
        };
        for _ in 0..MAX_INCOMING_PAYMENTS {
            instance.create_incoming_payment(new()).unwrap();
        }
        assert_eq!(
            instance.create_incoming_payment(new()),
            Err(IncomingPaymentError::TooManyIncomingPayments)
        );
    }
}

mod retention {
    use super::*;
    use crate::ilp::stream::SharedSecret;
    use std::time::{Duration, SystemTime};

    /// An instance keeping `retention` settled records of each kind, with a USD asset (its
    /// settlement account takes withdrawals), a funded peer that pays incoming payments, and
    /// bob's wallet address.
    struct Fixture {
        instance: Instance,
        asset: Asset,
        peer: Arc<Peer>,
        bob: Arc<WalletAddress>,
    }

    fn fixture(retention: usize) -> Fixture {
        let instance = Instance::with_settled_retention(
            InstanceSettings {
                ilp_address: Address::parse("test.cloud-nine-wallet").unwrap(),
                instance_name: "CLOUD-NINE".into(),
                open_payments_url: "http://127.0.0.1:3003".parse().unwrap(),
            },
            retention,
        );
        let asset = usd(&instance);
        let peer = instance
            .create_peer(NewPeer {
                initial_liquidity: Some(u64::MAX / 2),
                ..new_peer(&asset)
            })
            .unwrap();
        let bob = instance
            .create_wallet_address(NewWalletAddress {
                asset_id: asset.id.to_string(),
                address: "bob".into(),
                ..NewWalletAddress::default()
            })
            .unwrap();
        Fixture {
            instance,
            asset,
            peer,
            bob,
        }
    }

    /// What the instance holds: payment records, ledger accounts and transfers, accounts with a
    /// history and admin-made transfer ids in it, wallet list entries, quotes.
    #[derive(Debug)]
    struct Held {
        incoming: usize,
        outgoing: usize,
        quotes: usize,
        accounts: usize,
        transfers: usize,
        histories: usize,
        history_ids: usize,
        wallet_list_ids: usize,
    }

    fn held(instance: &Instance) -> Held {
        let state = instance.lock();
        let (incoming, incoming_list) = state.incoming_payments.held();
        let (outgoing, outgoing_list) = state.outgoing_payments.held();
        Held {
            incoming,
            outgoing,
            quotes: state.quotes.held(),
            accounts: state.accounting.ledger().accounts().count(),
            transfers: state.accounting.ledger().transfers().count(),
            histories: state.accounting.history().accounts(),
            history_ids: state.accounting.history().admin_transfer_ids(),
            wallet_list_ids: incoming_list + outgoing_list,
        }
    }

    fn usd_amount(value: u64) -> Option<AmountInAsset> {
        Some(AmountInAsset {
            value,
            asset_code: "USD".into(),
            asset_scale: 2,
        })
    }

    /// An incoming payment of `amount`, paid in full through the receive path the connector
    /// uses (so it completes).
    fn paid_incoming_payment(f: &Fixture, amount: u64) -> Uuid {
        let payment = f
            .instance
            .create_incoming_payment(NewIncomingPayment {
                wallet_address_id: f.bob.id,
                incoming_amount: usd_amount(amount),
                ..NewIncomingPayment::default()
            })
            .unwrap();
        let received = f
            .instance
            .receive_incoming_payment_packet(f.peer.as_source(), payment.id, amount, amount)
            .unwrap();
        assert_eq!(received.state, IncomingPaymentState::Completed);
        payment.id
    }

    /// Create, receive (completes), withdraw at once: a full lifecycle, settled at its end.
    fn incoming_lifecycle(f: &Fixture) -> Uuid {
        let id = paid_incoming_payment(f, 7);
        assert_eq!(
            f.instance
                .create_incoming_payment_withdrawal(&id.to_string(), WithdrawalMode::SinglePhase),
            Ok(7)
        );
        id
    }

    #[test]
    fn memory_stays_flat_over_three_retentions_of_incoming_payment_lifecycles() {
        // The real retention: what a long `peerlab run` gets.
        let retention = SETTLED_RETENTION;
        let f = fixture(retention);
        let start = held(&f.instance);
        let ids: Vec<Uuid> = (0..3 * retention).map(|_| incoming_lifecycle(&f)).collect();
        let end = held(&f.instance);
        assert_eq!(end.incoming, retention, "{end:?}");
        // One account and one withdrawal per kept payment, the history of each kept account, and
        // the settlement account's list of withdrawals within twice what is kept.
        assert_eq!(end.accounts, start.accounts + retention, "{end:?}");
        assert_eq!(end.transfers, start.transfers + retention, "{end:?}");
        assert!(end.histories <= start.histories + retention, "{end:?}");
        assert!(
            end.history_ids <= start.history_ids + 4 * retention,
            "{end:?}"
        );
        assert!(end.wallet_list_ids <= 2 * retention, "{end:?}");
        // The oldest are unknown everywhere; the newest readable.
        for id in &ids[..2 * retention] {
            assert_eq!(f.instance.incoming_payment_by_id(*id), None);
            assert_eq!(f.instance.incoming_payment_balance(*id), None);
        }
        let newest = ids[ids.len() - 1];
        let payment = f.instance.incoming_payment_by_id(newest).unwrap();
        assert_eq!(payment.received_amount, 7);
        assert_eq!(f.instance.incoming_payment_balance(newest), Some(0));
        // A forgotten payment's withdrawal is unknown too.
        assert_eq!(
            f.instance.create_incoming_payment_withdrawal(
                &ids[0].to_string(),
                WithdrawalMode::SinglePhase
            ),
            Err(LiquidityError::UnknownIncomingPayment)
        );
        // bob's page holds the kept payments, newest first.
        let page = f
            .instance
            .incoming_payments_page(
                f.bob.id,
                &PageRequest {
                    first: Some(3),
                    ..PageRequest::default()
                },
            )
            .unwrap();
        let firsts: Vec<Uuid> = page.items.iter().map(|p| p.id).collect();
        assert_eq!(
            firsts,
            vec![ids[ids.len() - 1], ids[ids.len() - 2], ids[ids.len() - 3]]
        );
        assert!(page.has_next_page);
        f.instance.audit().unwrap();
    }

    #[test]
    fn an_incoming_payment_holding_money_is_never_forgotten() {
        let retention = 5;
        let f = fixture(retention);
        // Completed, never withdrawn.
        let unwithdrawn = paid_incoming_payment(&f, 11);
        // Withdrawn in two phases, then voided: the money is back in its account.
        let voided = paid_incoming_payment(&f, 13);
        let withdrawal = f
            .instance
            .incoming_payment_by_id(voided)
            .and_then(|p| p.closing_event_id)
            .unwrap();
        f.instance
            .create_incoming_payment_withdrawal(&voided.to_string(), WithdrawalMode::TwoPhase)
            .unwrap();
        // Pending: balance 0, but not settled (the withdrawal may still be voided).
        assert_eq!(f.instance.incoming_payment_balance(voided), Some(0));
        for _ in 0..3 * retention {
            incoming_lifecycle(&f);
        }
        assert_eq!(f.instance.incoming_payment_balance(voided), Some(0));
        f.instance.void_withdrawal(&withdrawal.to_string()).unwrap();
        // Posted in two phases: settled once posted.
        let posted = paid_incoming_payment(&f, 17);
        let posted_withdrawal = f
            .instance
            .incoming_payment_by_id(posted)
            .and_then(|p| p.closing_event_id)
            .unwrap();
        f.instance
            .create_incoming_payment_withdrawal(&posted.to_string(), WithdrawalMode::TwoPhase)
            .unwrap();
        f.instance
            .post_withdrawal(&posted_withdrawal.to_string())
            .unwrap();
        for _ in 0..3 * retention {
            incoming_lifecycle(&f);
        }
        assert_eq!(f.instance.incoming_payment_balance(unwithdrawn), Some(11));
        assert_eq!(f.instance.incoming_payment_balance(voided), Some(13));
        assert!(f.instance.incoming_payment_by_id(unwithdrawn).is_some());
        assert!(f.instance.incoming_payment_by_id(voided).is_some());
        // The posted one settled and, older than the last `retention`, was forgotten.
        assert_eq!(f.instance.incoming_payment_by_id(posted), None);
        assert_eq!(
            f.instance.post_withdrawal(&posted_withdrawal.to_string()),
            Err(LiquidityError::UnknownTransfer)
        );
        // The one never withdrawn can still be: then it settles like the others.
        assert_eq!(
            f.instance.create_incoming_payment_withdrawal(
                &unwithdrawn.to_string(),
                WithdrawalMode::SinglePhase
            ),
            Ok(11)
        );
        for _ in 0..retention {
            incoming_lifecycle(&f);
        }
        assert_eq!(f.instance.incoming_payment_by_id(unwithdrawn), None);
        assert!(f.instance.incoming_payment_by_id(voided).is_some());
        assert_eq!(held(&f.instance).incoming, retention + 1);
        f.instance.audit().unwrap();
    }

    #[test]
    fn an_incoming_payment_that_expires_with_nothing_received_settles_at_once() {
        let f = fixture(2);
        let soon = SystemTime::now() + Duration::from_millis(50);
        let ids: Vec<Uuid> = (0..5)
            .map(|_| {
                f.instance
                    .create_incoming_payment(NewIncomingPayment {
                        wallet_address_id: f.bob.id,
                        expires_at: Some(soon),
                        ..NewIncomingPayment::default()
                    })
                    .unwrap()
                    .id
            })
            .collect();
        assert_eq!(held(&f.instance).incoming, 5);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(f.instance.expire_incoming_payments(), 5);
        assert_eq!(held(&f.instance).incoming, 2);
        let kept = ids
            .iter()
            .filter_map(|id| f.instance.incoming_payment_by_id(*id))
            .collect::<Vec<_>>();
        assert_eq!(kept.len(), 2);
        assert!(
            kept.iter()
                .all(|p| p.state == IncomingPaymentState::Expired)
        );
        f.instance.audit().unwrap();
    }

    fn quote(f: &Fixture, debit: u64, expires_at: SystemTime) -> Quote {
        let destination = Address::parse("test.happy-life-bank.receiver").unwrap();
        f.instance
            .store_quote(Quote {
                id: Uuid::new_v4(),
                wallet_address_id: f.bob.id,
                asset_id: f.asset.id,
                receiver: "http://127.0.0.1:4003/incoming-payments/x".into(),
                debit_amount: usd_amount(debit).unwrap(),
                receive_amount: usd_amount(debit).unwrap(),
                fixed: FixedAmount::Send,
                estimated_exchange_rate: 1.0,
                path: QuotedPath {
                    destination,
                    shared_secret: SharedSecret::from_slice(&[7; 32]).unwrap(),
                    rate_numerator: 1,
                    rate_denominator: 1,
                    max_packet: None,
                    source_address: Address::parse("test.cloud-nine-wallet.bob").unwrap(),
                    last_sequence: 1,
                },
                created_at: SystemTime::now(),
                expires_at,
            })
            .unwrap()
    }

    fn in_five_minutes() -> SystemTime {
        SystemTime::now() + Duration::from_secs(300)
    }

    /// Quote, create, fund with 10, send `sent` through a packet to the peer (fulfilled), finish
    /// COMPLETED, and withdraw what was not spent (if anything).
    fn outgoing_lifecycle(f: &Fixture, sent: u64) -> Uuid {
        let quote = quote(f, 10, in_five_minutes());
        let payment = f
            .instance
            .create_outgoing_payment(NewOutgoingPayment {
                wallet_address_id: f.bob.id.to_string(),
                quote_id: quote.id.to_string(),
                metadata: None,
            })
            .unwrap();
        f.instance
            .fund_outgoing_payment(&payment.id.to_string(), None)
            .unwrap();
        let packet = f
            .instance
            .reserve_packet(payment.id, f.peer.id, sent, 30_000)
            .unwrap();
        f.instance.settle_packet(packet, true).unwrap();
        f.instance
            .finish_outgoing_payment(payment.id, SendingOutcome::Completed { sent })
            .unwrap();
        if sent < 10 {
            assert_eq!(
                f.instance.create_outgoing_payment_withdrawal(
                    &payment.id.to_string(),
                    WithdrawalMode::SinglePhase
                ),
                Ok(10 - sent)
            );
        }
        payment.id
    }

    #[test]
    fn memory_stays_flat_over_three_retentions_of_outgoing_payment_lifecycles() {
        let retention = 40;
        let f = fixture(retention);
        let start = held(&f.instance);
        // Some spend everything (settled when they finish), some leave money to withdraw.
        let ids: Vec<Uuid> = (0..3 * retention as u64)
            .map(|n| outgoing_lifecycle(&f, if n % 2 == 0 { 10 } else { 4 }))
            .collect();
        let end = held(&f.instance);
        assert_eq!(end.outgoing, retention, "{end:?}");
        assert_eq!(end.quotes, retention, "{end:?}");
        assert_eq!(end.accounts, start.accounts + retention, "{end:?}");
        // A funding deposit per kept payment, and a withdrawal for every other one.
        assert!(end.transfers <= start.transfers + 2 * retention, "{end:?}");
        assert!(end.transfers >= start.transfers + retention, "{end:?}");
        assert!(
            end.history_ids <= start.history_ids + 8 * retention,
            "{end:?}"
        );
        assert!(end.wallet_list_ids <= 2 * retention, "{end:?}");
        for id in &ids[..2 * retention] {
            assert_eq!(f.instance.outgoing_payment(&id.to_string()), None);
            assert_eq!(f.instance.quote(&id.to_string()), None);
        }
        let newest = f
            .instance
            .outgoing_payment(&ids[ids.len() - 1].to_string())
            .unwrap();
        assert_eq!(newest.state, OutgoingPaymentState::Completed);
        assert_eq!(newest.sent_amount, 4);
        let page = f
            .instance
            .outgoing_payments_page(f.bob.id, &PageRequest::default())
            .unwrap();
        assert_eq!(page.items[0].id, ids[ids.len() - 1]);
        assert_eq!(page.items.len(), 20);
        // A forgotten payment's quote is unknown: it cannot pay again.
        assert_eq!(
            f.instance.create_outgoing_payment(NewOutgoingPayment {
                wallet_address_id: f.bob.id.to_string(),
                quote_id: ids[0].to_string(),
                metadata: None,
            }),
            Err(OutgoingPaymentError::UnknownQuote)
        );
        f.instance.audit().unwrap();
    }

    #[test]
    fn an_outgoing_payment_settles_when_its_last_packet_in_flight_ends() {
        let f = fixture(1);
        let quote = quote(&f, 10, in_five_minutes());
        let payment = f
            .instance
            .create_outgoing_payment(NewOutgoingPayment {
                wallet_address_id: f.bob.id.to_string(),
                quote_id: quote.id.to_string(),
                metadata: None,
            })
            .unwrap();
        f.instance
            .fund_outgoing_payment(&payment.id.to_string(), None)
            .unwrap();
        let packet = f
            .instance
            .reserve_packet(payment.id, f.peer.id, 10, 30_000)
            .unwrap();
        f.instance
            .finish_outgoing_payment(payment.id, SendingOutcome::Completed { sent: 10 })
            .unwrap();
        // Still in flight: not settled, so one more settled payment does not push it out.
        outgoing_lifecycle(&f, 10);
        assert!(
            f.instance
                .outgoing_payment(&payment.id.to_string())
                .is_some()
        );
        f.instance.settle_packet(packet, true).unwrap();
        // Settled now; the next settled one pushes it out.
        outgoing_lifecycle(&f, 10);
        assert_eq!(f.instance.outgoing_payment(&payment.id.to_string()), None);
        f.instance.audit().unwrap();
    }

    #[test]
    fn an_outgoing_payment_holding_money_is_never_forgotten() {
        let retention = 3;
        let f = fixture(retention);
        // Spent 4 of 10, the other 6 never withdrawn.
        let quote = quote(&f, 10, in_five_minutes());
        let holding = f
            .instance
            .create_outgoing_payment(NewOutgoingPayment {
                wallet_address_id: f.bob.id.to_string(),
                quote_id: quote.id.to_string(),
                metadata: None,
            })
            .unwrap()
            .id;
        f.instance
            .fund_outgoing_payment(&holding.to_string(), None)
            .unwrap();
        f.instance
            .finish_outgoing_payment(
                holding,
                SendingOutcome::Failed {
                    sent: 0,
                    reason: "no route".into(),
                },
            )
            .unwrap();
        for _ in 0..3 * retention {
            outgoing_lifecycle(&f, 4);
        }
        assert_eq!(f.instance.outgoing_payment_liquidity(holding), 10);
        let kept = f.instance.outgoing_payment(&holding.to_string()).unwrap();
        assert_eq!(kept.state, OutgoingPaymentState::Failed);
        assert_eq!(held(&f.instance).outgoing, retention + 1);
        f.instance.audit().unwrap();
    }

    #[test]
    fn expired_and_used_quotes_are_kept_up_to_the_retention() {
        let retention = 4;
        let f = fixture(retention);
        let past = SystemTime::now() - Duration::from_secs(1);
        let expired: Vec<Uuid> = (0..3 * retention).map(|_| quote(&f, 10, past).id).collect();
        // Settled expired ones are noticed as the next quote is stored.
        let fresh = quote(&f, 10, in_five_minutes());
        assert_eq!(held(&f.instance).quotes, retention + 1);
        assert_eq!(f.instance.quote(&expired[0].to_string()), None);
        assert!(
            f.instance
                .quote(&expired[expired.len() - 1].to_string())
                .is_some()
        );
        assert!(f.instance.quote(&fresh.id.to_string()).is_some());
        // Used: settled, still readable until pushed out, and never used twice.
        let payment = f
            .instance
            .create_outgoing_payment(NewOutgoingPayment {
                wallet_address_id: f.bob.id.to_string(),
                quote_id: fresh.id.to_string(),
                metadata: None,
            })
            .unwrap();
        assert_eq!(payment.quote, fresh);
        assert_eq!(
            f.instance
                .create_outgoing_payment(NewOutgoingPayment {
                    wallet_address_id: f.bob.id.to_string(),
                    quote_id: fresh.id.to_string(),
                    metadata: None,
                })
                .map(|p| p.id),
            Err(OutgoingPaymentError::InvalidQuote)
        );
        assert_eq!(held(&f.instance).quotes, retention);
        f.instance.audit().unwrap();
    }
}

/// On a thread a deterministic simulation seeded, with its wall clock virtual, an instance makes
/// the same ids and timestamps every time: what exact replay rests on.
#[tokio::test(start_paused = true)]
async fn a_seeded_thread_makes_the_same_ids_and_timestamps() {
    use std::time::{Duration, UNIX_EPOCH};
    let epoch = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let run = || {
        let _seed = crate::entropy::seed_this_thread(42);
        let _clock = crate::clock::start_virtual_wall_clock(epoch);
        let instance = instance();
        let asset = usd(&instance);
        let peer = instance.create_peer(new_peer(&asset)).unwrap();
        (asset.id, asset.created_at, peer.id, peer.created_at)
    };
    let first = run();
    assert_eq!(first, run());
    assert_eq!(
        first.1, epoch,
        "time is paused: the wall clock has not moved"
    );
    assert_ne!(first.0, usd(&instance()).id, "unseeded, ids differ");
}
