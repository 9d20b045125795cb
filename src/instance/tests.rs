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
