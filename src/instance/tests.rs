use super::*;

fn instance() -> Instance {
    Instance::new(InstanceSettings {
        ilp_address: Address::parse("test.cloud-nine-wallet").unwrap(),
        instance_name: "CLOUD-NINE".into(),
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
