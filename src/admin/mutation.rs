//! Mutations: a thin skin over the instance's services. Each one turns its input into a service
//! call, runs it under its `idempotencyKey`, and reports the result in the dialect its selection
//! asks for (a refusal as the seed era's payload, or as today's GraphQL error).

use std::sync::Arc;

use async_graphql::{Context, Object};
use serde::Serialize;

use super::dialect;
use super::idempotency::IdempotencyStore;
use super::outcome::{ArgumentError, Outcome, Refusal};
use super::scalars::UInt64;
use super::types::*;
use crate::autopeer::{AutoPeering, PeerByUrl};
use crate::instance::{
    HttpUpdate, Instance, NewAsset, NewPeer, NewWalletAddress, PeerUpdate, WalletAddressUpdate,
    WithdrawalMode,
};
use crate::payments::receiver::{NewReceiver, ReceiverAmount};

/// Assets, peers, liquidity, wallet addresses, receivers: the mutations of the instance's own
/// services (payments' are in [`super::payments`]).
#[derive(Default)]
pub struct InstanceMutation;

/// What a mutation's operation gives: its payload, or why it was refused.
pub(super) type Done<T> = Result<T, Refusal>;

/// Runs `operation` on the instance under `key`. `name` identifies the operation whatever alias
/// the client called (`addPeerLiquidity` and `depositPeerLiquidity` are one operation). Only
/// successes are remembered, so a replay is the same in either dialect.
fn idempotent<T: Payload>(
    ctx: &Context<'_>,
    name: &str,
    key: Option<&str>,
    input: &impl Serialize,
    operation: impl FnOnce(&Instance) -> Done<T>,
) -> Done<T> {
    let instance = ctx.data_unchecked::<Arc<Instance>>();
    let store = ctx.data_unchecked::<IdempotencyStore>();
    let arguments = serde_json::to_string(input).unwrap_or_default();
    store
        .run(key, format!("{name}:{arguments}"), Done::is_ok, || {
            operation(instance)
        })
        .unwrap_or_else(|refused| Err(refused.into()))
}

/// [`idempotent`] for an operation that awaits something outside this instance (another
/// instance's API): `operation` runs only when the key has no remembered success.
pub(super) async fn idempotent_async<T: Payload>(
    ctx: &Context<'_>,
    name: &str,
    key: Option<&str>,
    input: &impl Serialize,
    operation: impl std::future::Future<Output = Done<T>>,
) -> Done<T> {
    let store = ctx.data_unchecked::<IdempotencyStore>();
    let arguments = serde_json::to_string(input).unwrap_or_default();
    store
        .run_async(key, format!("{name}:{arguments}"), Done::is_ok, operation)
        .await
        .unwrap_or_else(|refused| Err(refused.into()))
}

/// A successful payload carrying `set`'s entity.
fn ok<T: Payload>(message: &str, set: impl FnOnce(&mut T)) -> Done<T> {
    let mut payload = T::from_outcome(Outcome::ok(message));
    set(&mut payload);
    Ok(payload)
}

/// A liquidity operation's payload; `refusal` maps its error (see [`Refusal::peer_deposit`]).
pub(super) fn liquidity<E>(
    result: Result<(), E>,
    message: &str,
    refusal: impl FnOnce(E) -> Refusal,
) -> Done<LiquidityMutationResponse> {
    match result {
        Ok(()) => Ok(LiquidityMutationResponse::from_outcome(Outcome::ok(
            message,
        ))),
        Err(error) => Err(refusal(error)),
    }
}

fn http_update(http: HttpInput) -> HttpUpdate {
    HttpUpdate {
        incoming_tokens: http.incoming.map(|incoming| incoming.auth_tokens),
        outgoing_endpoint: http.outgoing.endpoint,
        outgoing_token: http.outgoing.auth_token,
    }
}

/// Additional properties as the service takes them.
fn properties(
    inputs: Option<Vec<AdditionalPropertyInput>>,
) -> Option<Vec<crate::instance::AdditionalProperty>> {
    inputs.map(|inputs| inputs.into_iter().map(Into::into).collect())
}

/// The withdrawal id from either the seed era's `withdrawalId` argument or today's `input`.
fn pick_withdrawal_id(
    argument: Option<String>,
    input_id: Option<String>,
) -> Result<String, ArgumentError> {
    match (argument, input_id) {
        (Some(a), Some(b)) if a != b => Err(ArgumentError::WithdrawalIdsDiffer),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(ArgumentError::WithdrawalIdMissing),
    }
}

impl InstanceMutation {
    fn deposit_peer(
        ctx: &Context<'_>,
        input: &impl Serialize,
        key: Option<&str>,
        (id, peer_id, amount): (&str, &str, u64),
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let result = idempotent(ctx, "depositPeerLiquidity", key, input, |instance| {
            liquidity(
                instance.deposit_peer_liquidity(id, peer_id, amount),
                "Added peer liquidity",
                Refusal::peer_deposit,
            )
        });
        dialect::report_nullable(ctx, result)
    }

    fn deposit_asset(
        ctx: &Context<'_>,
        input: &impl Serialize,
        key: Option<&str>,
        (id, asset_id, amount): (&str, &str, u64),
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let result = idempotent(ctx, "depositAssetLiquidity", key, input, |instance| {
            liquidity(
                instance.deposit_asset_liquidity(id, asset_id, amount),
                "Added asset liquidity",
                Refusal::from,
            )
        });
        dialect::report_nullable(ctx, result)
    }

    /// Posts or voids a withdrawal named by `withdrawal_id` (seed era) or `input_id` (today).
    fn resolve_withdrawal(
        ctx: &Context<'_>,
        name: &str,
        (withdrawal_id, input_id, key): (Option<String>, Option<String>, Option<String>),
        operation: impl FnOnce(&Instance, &str) -> Done<LiquidityMutationResponse>,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let result = match pick_withdrawal_id(withdrawal_id, input_id) {
            Ok(id) => idempotent(ctx, name, key.as_deref(), &id, |instance| {
                operation(instance, &id)
            }),
            Err(error) => Err(error.into()),
        };
        dialect::report_nullable(ctx, result)
    }
}

#[Object(name = "Mutation")]
impl InstanceMutation {
    async fn create_asset(
        &self,
        ctx: &Context<'_>,
        input: CreateAssetInput,
    ) -> async_graphql::Result<AssetMutationResponse> {
        let key = input.idempotency_key.clone();
        let result = idempotent(ctx, "createAsset", key.as_deref(), &input, |instance| {
            let new = NewAsset {
                code: input.code.clone(),
                scale: input.scale.0,
                withdrawal_threshold: input.withdrawal_threshold.map(|t| t.0),
                liquidity_threshold: input.liquidity_threshold.map(|t| t.0),
            };
            match instance.create_asset(new) {
                Ok(asset) => ok("Created Asset", |p: &mut AssetMutationResponse| {
                    p.asset = Some(Asset(asset))
                }),
                Err(error) => Err(error.into()),
            }
        });
        dialect::report(ctx, result)
    }

    /// Sets both thresholds; one left out becomes null, as in Rafiki.
    async fn update_asset(
        &self,
        ctx: &Context<'_>,
        input: UpdateAssetInput,
    ) -> async_graphql::Result<AssetMutationResponse> {
        let key = input.idempotency_key.clone();
        let result = idempotent(ctx, "updateAsset", key.as_deref(), &input, |instance| {
            let updated = instance.update_asset(
                &input.id,
                input.withdrawal_threshold.map(|t| t.0),
                input.liquidity_threshold.map(|t| t.0),
            );
            match updated {
                Ok(asset) => ok("Updated Asset", |p: &mut AssetMutationResponse| {
                    p.asset = Some(Asset(asset))
                }),
                Err(error) => Err(error.into()),
            }
        });
        dialect::report(ctx, result)
    }

    /// Refused while a peer uses the asset.
    async fn delete_asset(
        &self,
        ctx: &Context<'_>,
        input: DeleteAssetInput,
    ) -> async_graphql::Result<DeleteAssetMutationResponse> {
        let key = input.idempotency_key.clone();
        let result =
            idempotent(
                ctx,
                "deleteAsset",
                key.as_deref(),
                &input,
                |instance| match instance.delete_asset(&input.id) {
                    Ok(asset) => ok("Asset deleted", |p: &mut DeleteAssetMutationResponse| {
                        p.asset = Some(Asset(asset))
                    }),
                    Err(error) => Err(error.into()),
                },
            );
        dialect::report(ctx, result)
    }

    /// The seed era's name for `depositAssetLiquidity`.
    async fn add_asset_liquidity(
        &self,
        ctx: &Context<'_>,
        input: AddAssetLiquidityInput,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let args = (input.id.as_str(), input.asset_id.as_str(), input.amount.0);
        Self::deposit_asset(ctx, &input, input.idempotency_key.as_deref(), args)
    }

    async fn deposit_asset_liquidity(
        &self,
        ctx: &Context<'_>,
        input: DepositAssetLiquidityInput,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let args = (input.id.as_str(), input.asset_id.as_str(), input.amount.0);
        Self::deposit_asset(ctx, &input, input.idempotency_key.as_deref(), args)
    }

    async fn create_asset_liquidity_withdrawal(
        &self,
        ctx: &Context<'_>,
        input: CreateAssetLiquidityWithdrawalInput,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let key = input.idempotency_key.clone();
        let result = idempotent(
            ctx,
            "createAssetLiquidityWithdrawal",
            key.as_deref(),
            &input,
            |instance| {
                let mode = WithdrawalMode::from_timeout_seconds(input.timeout_seconds.map(|t| t.0));
                liquidity(
                    instance.create_asset_withdrawal(
                        &input.id,
                        &input.asset_id,
                        input.amount.0,
                        mode,
                    ),
                    "Created asset liquidity withdrawal",
                    Refusal::from,
                )
            },
        );
        dialect::report_nullable(ctx, result)
    }

    async fn create_peer(
        &self,
        ctx: &Context<'_>,
        input: CreatePeerInput,
    ) -> async_graphql::Result<CreatePeerMutationResponse> {
        let key = input.idempotency_key.clone();
        let result = idempotent(ctx, "createPeer", key.as_deref(), &input, |instance| {
            let http = http_update(input.http.clone());
            let new = NewPeer {
                static_ilp_address: input.static_ilp_address.clone(),
                name: input.name.clone(),
                asset_id: input.asset_id.clone(),
                incoming_tokens: http.incoming_tokens.unwrap_or_default(),
                outgoing_endpoint: http.outgoing_endpoint,
                outgoing_token: http.outgoing_token,
                max_packet_amount: input.max_packet_amount.map(|a| a.0),
                liquidity_threshold: input.liquidity_threshold.map(|a| a.0),
                initial_liquidity: input.initial_liquidity.map(|a| a.0),
                routes: input.routes.clone().unwrap_or_default(),
            };
            match instance.create_peer(new) {
                Ok(peer) => ok("Created ILP Peer", |p: &mut CreatePeerMutationResponse| {
                    p.peer = Some(Peer(peer))
                }),
                Err(error) => Err(error.into()),
            }
        });
        dialect::report(ctx, result)
    }

    /// Peers with another instance by its auto-peering URL alone: addresses, connector URLs and
    /// tokens are exchanged, then the peer is created (or updated) here and the deposit made.
    async fn create_or_update_peer_by_url(
        &self,
        ctx: &Context<'_>,
        input: CreateOrUpdatePeerByUrlInput,
    ) -> async_graphql::Result<CreateOrUpdatePeerByUrlMutationResponse> {
        let deposits: Vec<u64> = [
            input.liquidity_to_deposit,
            input.initial_liquidity,
            input.added_liquidity,
        ]
        .into_iter()
        .flatten()
        .map(|amount| amount.0)
        .collect();
        if deposits.windows(2).any(|pair| pair[0] != pair[1]) {
            return dialect::report(ctx, Err(ArgumentError::DepositsDiffer.into()));
        }
        let request = PeerByUrl {
            peer_url: input.peer_url.clone(),
            asset_id: input.asset_id.clone(),
            max_packet_amount: input.max_packet_amount.map(|a| a.0),
            name: input.name.clone(),
            liquidity_threshold: input.liquidity_threshold.map(|a| a.0),
            liquidity_to_deposit: deposits.first().copied(),
        };
        let auto_peering = ctx.data_unchecked::<Arc<AutoPeering>>();
        let operation = async {
            match auto_peering.initiate(request).await {
                Ok(peer) => ok(
                    "ILP peer created or updated",
                    |p: &mut CreateOrUpdatePeerByUrlMutationResponse| p.peer = Some(Peer(peer)),
                ),
                Err(error) => Err(error.into()),
            }
        };
        let key = input.idempotency_key.as_deref();
        let result = idempotent_async(ctx, "createOrUpdatePeerByUrl", key, &input, operation).await;
        dialect::report(ctx, result)
    }

    async fn update_peer(
        &self,
        ctx: &Context<'_>,
        input: UpdatePeerInput,
    ) -> async_graphql::Result<UpdatePeerMutationResponse> {
        let key = input.idempotency_key.clone();
        let result = idempotent(ctx, "updatePeer", key.as_deref(), &input, |instance| {
            let update = PeerUpdate {
                id: input.id.clone(),
                static_ilp_address: input.static_ilp_address.clone(),
                name: input.name.clone(),
                http: input.http.clone().map(http_update),
                max_packet_amount: input.max_packet_amount.map(|a| a.0),
                liquidity_threshold: input.liquidity_threshold.map(|a| a.0),
                routes: input.routes.clone(),
            };
            match instance.update_peer(update) {
                Ok(peer) => ok("Updated ILP Peer", |p: &mut UpdatePeerMutationResponse| {
                    p.peer = Some(Peer(peer))
                }),
                Err(error) => Err(error.into()),
            }
        });
        dialect::report(ctx, result)
    }

    async fn delete_peer(
        &self,
        ctx: &Context<'_>,
        input: DeletePeerInput,
    ) -> async_graphql::Result<DeletePeerMutationResponse> {
        let key = input.idempotency_key.clone();
        let result = idempotent(
            ctx,
            "deletePeer",
            key.as_deref(),
            &input,
            |instance| match instance.delete_peer(&input.id) {
                Ok(_) => ok("Deleted ILP Peer", |_: &mut DeletePeerMutationResponse| {}),
                Err(error) => Err(error.into()),
            },
        );
        dialect::report(ctx, result)
    }

    /// The seed era's name for `depositPeerLiquidity`.
    async fn add_peer_liquidity(
        &self,
        ctx: &Context<'_>,
        input: AddPeerLiquidityInput,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let args = (input.id.as_str(), input.peer_id.as_str(), input.amount.0);
        Self::deposit_peer(ctx, &input, input.idempotency_key.as_deref(), args)
    }

    async fn deposit_peer_liquidity(
        &self,
        ctx: &Context<'_>,
        input: DepositPeerLiquidityInput,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let args = (input.id.as_str(), input.peer_id.as_str(), input.amount.0);
        Self::deposit_peer(ctx, &input, input.idempotency_key.as_deref(), args)
    }

    async fn create_peer_liquidity_withdrawal(
        &self,
        ctx: &Context<'_>,
        input: CreatePeerLiquidityWithdrawalInput,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let key = input.idempotency_key.clone();
        let result = idempotent(
            ctx,
            "createPeerLiquidityWithdrawal",
            key.as_deref(),
            &input,
            |instance| {
                let mode = WithdrawalMode::from_timeout_seconds(input.timeout_seconds.map(|t| t.0));
                liquidity(
                    instance.create_peer_withdrawal(
                        &input.id,
                        &input.peer_id,
                        input.amount.0,
                        mode,
                    ),
                    "Created peer liquidity withdrawal",
                    Refusal::from,
                )
            },
        );
        dialect::report_nullable(ctx, result)
    }

    /// Withdraws everything a wallet address received and holds, as Rafiki's operators take
    /// out money paid to it (two-phase unless `timeoutSeconds` is 0; post or void it like any
    /// withdrawal).
    async fn create_wallet_address_withdrawal(
        &self,
        ctx: &Context<'_>,
        input: CreateWalletAddressWithdrawalInput,
    ) -> async_graphql::Result<Option<WalletAddressWithdrawalMutationResponse>> {
        let key = input.idempotency_key.clone();
        let result = idempotent(
            ctx,
            "createWalletAddressWithdrawal",
            Some(&key),
            &input,
            |instance| {
                let mode = WithdrawalMode::from_timeout_seconds(Some(input.timeout_seconds.0));
                let withdrawn = instance.create_wallet_address_withdrawal(
                    &input.id,
                    &input.wallet_address_id,
                    mode,
                );
                let wallet = instance.wallet_address(&input.wallet_address_id);
                match (withdrawn, wallet) {
                    (Ok(amount), Some(wallet)) => ok(
                        "Created wallet address withdrawal",
                        |p: &mut WalletAddressWithdrawalMutationResponse| {
                            p.withdrawal = Some(WalletAddressWithdrawal {
                                id: input.id.clone(),
                                amount: UInt64(amount),
                                wallet_address: WalletAddress(wallet),
                            })
                        },
                    ),
                    (Ok(_), None) => {
                        Err(crate::instance::LiquidityError::UnknownWalletAddress.into())
                    }
                    (Err(error), _) => Err(error.into()),
                }
            },
        );
        dialect::report_nullable(ctx, result)
    }

    /// Withdraws what an incoming payment received, once it completed or expired (Rafiki's
    /// rules: the transfer's id is the id of that event, so it can be withdrawn once; two-phase
    /// unless `timeoutSeconds` is 0, posted or voided with the event's id).
    async fn create_incoming_payment_withdrawal(
        &self,
        ctx: &Context<'_>,
        input: CreateIncomingPaymentWithdrawalInput,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let key = input.idempotency_key.clone();
        let result = idempotent(
            ctx,
            "createIncomingPaymentWithdrawal",
            Some(&key),
            &input,
            |instance| {
                let mode = WithdrawalMode::from_timeout_seconds(Some(input.timeout_seconds.0));
                liquidity(
                    instance
                        .create_incoming_payment_withdrawal(&input.incoming_payment_id, mode)
                        .map(|_| ()),
                    "Created incoming payment withdrawal",
                    Refusal::from,
                )
            },
        );
        dialect::report_nullable(ctx, result)
    }

    /// A wallet address under this instance's Open Payments URL, given in full or as the path
    /// after it.
    async fn create_wallet_address(
        &self,
        ctx: &Context<'_>,
        input: CreateWalletAddressInput,
    ) -> async_graphql::Result<CreateWalletAddressMutationResponse> {
        let key = input.idempotency_key.clone();
        let result = idempotent(
            ctx,
            "createWalletAddress",
            key.as_deref(),
            &input,
            |instance| {
                let new = NewWalletAddress {
                    asset_id: input.asset_id.clone(),
                    address: input.address.clone(),
                    public_name: input.public_name.clone(),
                    additional_properties: properties(input.additional_properties.clone())
                        .unwrap_or_default(),
                };
                match instance.create_wallet_address(new) {
                    Ok(wallet) => ok(
                        "Created wallet address",
                        |p: &mut CreateWalletAddressMutationResponse| {
                            p.wallet_address = Some(WalletAddress(wallet))
                        },
                    ),
                    Err(error) => Err(error.into()),
                }
            },
        );
        dialect::report(ctx, result)
    }

    /// An incoming payment at a wallet address: created here when the wallet address is this
    /// instance's, otherwise at its Open Payments resource server (no grant: peerlab does not
    /// do GNAP).
    async fn create_receiver(
        &self,
        ctx: &Context<'_>,
        input: CreateReceiverInput,
    ) -> async_graphql::Result<CreateReceiverResponse> {
        let payments = ctx.data_unchecked::<Arc<crate::payments::Payments>>();
        let new = NewReceiver {
            wallet_address_url: input.wallet_address_url.clone(),
            incoming_amount: input.incoming_amount.clone().map(|amount| ReceiverAmount {
                value: amount.value.0,
                asset_code: amount.asset_code,
                asset_scale: amount.asset_scale.0,
            }),
            expires_at: input.expires_at.clone(),
            metadata: input.metadata.clone().map(|metadata| metadata.0),
        };
        let operation = async {
            match payments.create_receiver(new).await {
                Ok(record) => ok("Created receiver", |p: &mut CreateReceiverResponse| {
                    p.receiver = Some(Receiver(record))
                }),
                Err(error) => Err(error.into()),
            }
        };
        let key = input.idempotency_key.as_deref();
        let result = idempotent_async(ctx, "createReceiver", key, &input, operation).await;
        dialect::report(ctx, result)
    }

    /// Patches what is given; `status: INACTIVE` takes the wallet address out of Open Payments.
    async fn update_wallet_address(
        &self,
        ctx: &Context<'_>,
        input: UpdateWalletAddressInput,
    ) -> async_graphql::Result<UpdateWalletAddressMutationResponse> {
        let key = input.idempotency_key.clone();
        let result = idempotent(
            ctx,
            "updateWalletAddress",
            key.as_deref(),
            &input,
            |instance| {
                let update = WalletAddressUpdate {
                    id: input.id.to_string(),
                    public_name: input.public_name.clone(),
                    active: input
                        .status
                        .map(|status| status == WalletAddressStatus::Active),
                    additional_properties: properties(input.additional_properties.clone()),
                };
                match instance.update_wallet_address(update) {
                    Ok(wallet) => ok(
                        "Updated wallet address",
                        |p: &mut UpdateWalletAddressMutationResponse| {
                            p.wallet_address = Some(WalletAddress(wallet))
                        },
                    ),
                    Err(error) => Err(Refusal::wallet_address_update(error)),
                }
            },
        );
        dialect::report(ctx, result)
    }

    /// Commits a two-phase withdrawal; takes `withdrawalId` (seed era) or `input` (today).
    async fn post_liquidity_withdrawal(
        &self,
        ctx: &Context<'_>,
        withdrawal_id: Option<String>,
        input: Option<PostLiquidityWithdrawalInput>,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let (input_id, key) = input
            .map(|i| (Some(i.withdrawal_id), i.idempotency_key))
            .unwrap_or_default();
        Self::resolve_withdrawal(
            ctx,
            "postLiquidityWithdrawal",
            (withdrawal_id, input_id, key),
            |instance, id| {
                liquidity(
                    instance.post_withdrawal(id),
                    "Posted Withdrawal",
                    Refusal::from,
                )
            },
        )
    }

    /// Cancels a two-phase withdrawal; takes `withdrawalId` (seed era) or `input` (today).
    async fn void_liquidity_withdrawal(
        &self,
        ctx: &Context<'_>,
        withdrawal_id: Option<String>,
        input: Option<VoidLiquidityWithdrawalInput>,
    ) -> async_graphql::Result<Option<LiquidityMutationResponse>> {
        let (input_id, key) = input
            .map(|i| (Some(i.withdrawal_id), i.idempotency_key))
            .unwrap_or_default();
        Self::resolve_withdrawal(
            ctx,
            "voidLiquidityWithdrawal",
            (withdrawal_id, input_id, key),
            |instance, id| {
                liquidity(
                    instance.void_withdrawal(id),
                    "Voided Withdrawal",
                    Refusal::from,
                )
            },
        )
    }
}
