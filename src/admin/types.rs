//! The GraphQL types of the admin API, named as in Rafiki's schema.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use serde::Serialize;

use super::outcome::{LiquidityErrorCode, Outcome, Refusal};
use super::scalars::{JsonObject, UInt8, UInt64};
use crate::instance::{self, Instance, Page};

pub use crate::text::iso_timestamp;

// === entities ===

/// An asset, with its liquidity read live from the ledger.
#[derive(Debug, Clone)]
pub struct Asset(pub instance::Asset);

#[Object]
impl Asset {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn scale(&self) -> UInt8 {
        UInt8(self.0.scale)
    }
    /// The asset's own liquidity.
    async fn liquidity(&self, ctx: &Context<'_>) -> Option<UInt64> {
        ctx.data_unchecked::<Arc<Instance>>()
            .asset_liquidity(self.0.id)
            .map(UInt64)
    }
    async fn withdrawal_threshold(&self) -> Option<UInt64> {
        self.0.withdrawal_threshold.map(UInt64)
    }
    async fn liquidity_threshold(&self) -> Option<UInt64> {
        self.0.liquidity_threshold.map(UInt64)
    }
    /// peerlab charges no fees: always null.
    async fn sending_fee(&self) -> Option<Fee> {
        None
    }
    /// peerlab charges no fees: always null.
    async fn receiving_fee(&self) -> Option<Fee> {
        None
    }
    async fn created_at(&self) -> String {
        iso_timestamp(self.0.created_at)
    }
}

/// Rafiki's fee type, present so that its queries validate; peerlab has no fees.
#[derive(Debug, Clone, SimpleObject)]
pub struct Fee {
    id: ID,
    asset_id: ID,
    #[graphql(name = "type")]
    fee_type: FeeType,
    fixed: UInt64,
    basis_points: i32,
    created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum FeeType {
    Sending,
    Receiving,
}

/// A peer. Its incoming tokens are never readable.
#[derive(Debug, Clone)]
pub struct Peer(pub Arc<instance::Peer>);

#[Object]
impl Peer {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The largest packet this instance forwards from the peer.
    async fn max_packet_amount(&self) -> Option<UInt64> {
        self.0.max_packet_amount.map(UInt64)
    }
    async fn http(&self) -> Http {
        Http {
            outgoing: HttpOutgoing {
                auth_token: self.0.outgoing.auth_token.clone(),
                endpoint: self.0.outgoing.endpoint.clone(),
            },
        }
    }
    async fn asset(&self, ctx: &Context<'_>) -> async_graphql::Result<Asset> {
        let instance = ctx.data_unchecked::<Arc<Instance>>();
        instance
            .asset_including_deleted(self.0.asset_id)
            .map(Asset)
            .ok_or_else(|| Refusal::from(instance::AssetError::UnknownAsset).v2_error())
    }
    async fn static_ilp_address(&self) -> &str {
        self.0.static_ilp_address.as_str()
    }
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    async fn liquidity_threshold(&self) -> Option<UInt64> {
        self.0.liquidity_threshold.map(UInt64)
    }
    /// How much the peer may still send through this instance.
    async fn liquidity(&self, ctx: &Context<'_>) -> Option<UInt64> {
        ctx.data_unchecked::<Arc<Instance>>()
            .peer_liquidity(self.0.id)
            .map(UInt64)
    }
    async fn routes(&self) -> &[String] {
        &self.0.routes
    }
    async fn created_at(&self) -> String {
        iso_timestamp(self.0.created_at)
    }
}

/// A wallet address: a URL under this instance's Open Payments URL, in one asset.
#[derive(Debug, Clone)]
pub struct WalletAddress(pub Arc<instance::WalletAddress>);

#[Object]
impl WalletAddress {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn asset(&self, ctx: &Context<'_>) -> async_graphql::Result<Asset> {
        let instance = ctx.data_unchecked::<Arc<Instance>>();
        instance
            .asset_including_deleted(self.0.asset_id)
            .map(Asset)
            .ok_or_else(|| Refusal::from(instance::AssetError::UnknownAsset).v2_error())
    }
    /// What the wallet address holds: received and not yet paid out or withdrawn.
    async fn liquidity(&self, ctx: &Context<'_>) -> Option<UInt64> {
        ctx.data_unchecked::<Arc<Instance>>()
            .wallet_address_balance(self.0.id)
            .map(UInt64)
    }
    /// The full URL, lower-cased as Rafiki stores it.
    async fn address(&self) -> &str {
        &self.0.url
    }
    async fn public_name(&self) -> Option<&str> {
        self.0.public_name.as_deref()
    }
    async fn created_at(&self) -> String {
        iso_timestamp(self.0.created_at)
    }
    /// The wallet address's incoming payments, newest first unless `sortOrder: ASC`.
    async fn incoming_payments(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        sort_order: Option<SortOrder>,
    ) -> async_graphql::Result<IncomingPaymentConnection> {
        let request = super::query::page_request(after, before, first, last, sort_order);
        ctx.data_unchecked::<Arc<Instance>>()
            .incoming_payments_page(self.0.id, &request)
            .map(Into::into)
            .map_err(|error| Refusal::from(error).v2_error())
    }
    /// The wallet address's outgoing payments, newest first unless `sortOrder: ASC`.
    async fn outgoing_payments(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        sort_order: Option<SortOrder>,
    ) -> async_graphql::Result<super::payments::OutgoingPaymentConnection> {
        let request = super::query::page_request(after, before, first, last, sort_order);
        ctx.data_unchecked::<Arc<Instance>>()
            .outgoing_payments_page(self.0.id, &request)
            .map(Into::into)
            .map_err(|error| Refusal::from(error).v2_error())
    }
    /// An inactive wallet address answers nothing in Open Payments.
    async fn status(&self) -> WalletAddressStatus {
        if self.0.active {
            WalletAddressStatus::Active
        } else {
            WalletAddressStatus::Inactive
        }
    }
    /// Every additional property, whether Open Payments shows it or not. The list and its items
    /// are nullable in Rafiki's schema, so they are here.
    async fn additional_properties(&self) -> Option<Vec<Option<AdditionalProperty>>> {
        Some(
            self.0
                .additional_properties
                .iter()
                .map(|property| {
                    Some(AdditionalProperty {
                        key: property.key.clone(),
                        value: property.value.clone(),
                        visible_in_open_payments: property.visible_in_open_payments,
                    })
                })
                .collect(),
        )
    }
}

/// Rafiki's `Amount`.
#[derive(Debug, Clone, SimpleObject)]
pub struct Amount {
    pub value: UInt64,
    pub asset_code: String,
    pub asset_scale: UInt8,
}

impl From<crate::payments::receiver::ReceiverAmount> for Amount {
    fn from(amount: crate::payments::receiver::ReceiverAmount) -> Self {
        Self {
            value: UInt64(amount.value),
            asset_code: amount.asset_code,
            asset_scale: UInt8(amount.asset_scale),
        }
    }
}

#[derive(Debug, Clone, Serialize, InputObject)]
#[serde(rename_all = "camelCase")]
pub struct AmountInput {
    pub value: UInt64,
    pub asset_code: String,
    pub asset_scale: UInt8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum IncomingPaymentState {
    Pending,
    Processing,
    Completed,
    Expired,
}

impl From<instance::IncomingPaymentState> for IncomingPaymentState {
    fn from(state: instance::IncomingPaymentState) -> Self {
        match state {
            instance::IncomingPaymentState::Pending => Self::Pending,
            instance::IncomingPaymentState::Processing => Self::Processing,
            instance::IncomingPaymentState::Completed => Self::Completed,
            instance::IncomingPaymentState::Expired => Self::Expired,
        }
    }
}

/// An incoming payment at one of this instance's wallet addresses.
#[derive(Debug, Clone)]
pub struct IncomingPayment(pub instance::IncomingPayment);

impl IncomingPayment {
    fn amount(&self, ctx: &Context<'_>, value: u64) -> Amount {
        let instance = ctx.data_unchecked::<Arc<Instance>>();
        let asset = instance
            .wallet_address_by_id(self.0.wallet_address_id)
            .and_then(|wallet| instance.asset_including_deleted(wallet.asset_id));
        Amount {
            value: UInt64(value),
            asset_code: asset.as_ref().map(|a| a.code.clone()).unwrap_or_default(),
            asset_scale: UInt8(asset.map_or(0, |a| a.scale)),
        }
    }
}

#[Object]
impl IncomingPayment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The incoming payment's Open Payments URL.
    async fn url(&self, ctx: &Context<'_>) -> String {
        crate::openpayments::incoming::incoming_payment_url(
            ctx.data_unchecked::<Arc<Instance>>(),
            self.0.id,
        )
    }
    async fn wallet_address_id(&self) -> ID {
        ID(self.0.wallet_address_id.to_string())
    }
    async fn state(&self) -> IncomingPaymentState {
        self.0.state.into()
    }
    async fn expires_at(&self) -> String {
        iso_timestamp(self.0.expires_at)
    }
    async fn incoming_amount(&self, ctx: &Context<'_>) -> Option<Amount> {
        self.0.incoming_amount.map(|value| self.amount(ctx, value))
    }
    async fn received_amount(&self, ctx: &Context<'_>) -> Amount {
        self.amount(ctx, self.0.received_amount)
    }
    async fn metadata(&self) -> Option<JsonObject> {
        self.0.metadata.clone().map(JsonObject)
    }
    async fn created_at(&self) -> String {
        iso_timestamp(self.0.created_at)
    }
}

/// Rafiki's `Receiver`: an incoming payment, here or at another Open Payments server.
#[derive(Debug, Clone)]
pub struct Receiver(pub crate::payments::receiver::ReceiverRecord);

#[Object]
impl Receiver {
    /// The incoming payment's URL.
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn wallet_address_url(&self) -> &str {
        &self.0.wallet_address_url
    }
    async fn completed(&self) -> bool {
        self.0.completed
    }
    async fn incoming_amount(&self) -> Option<Amount> {
        self.0.incoming_amount.clone().map(Amount::from)
    }
    async fn received_amount(&self) -> Amount {
        self.0.received_amount.clone().into()
    }
    async fn expires_at(&self) -> Option<&str> {
        self.0.expires_at.as_deref()
    }
    async fn metadata(&self) -> Option<JsonObject> {
        self.0.metadata.clone().map(JsonObject)
    }
    async fn created_at(&self) -> &str {
        &self.0.created_at
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct IncomingPaymentEdge {
    node: IncomingPayment,
    cursor: String,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct IncomingPaymentConnection {
    page_info: PageInfo,
    edges: Vec<IncomingPaymentEdge>,
}

impl From<Page<instance::IncomingPayment>> for IncomingPaymentConnection {
    fn from(page: Page<instance::IncomingPayment>) -> Self {
        Self {
            page_info: PageInfo::of(&page, |p| p.id.to_string()),
            edges: page
                .items
                .into_iter()
                .map(|payment| IncomingPaymentEdge {
                    cursor: payment.id.to_string(),
                    node: IncomingPayment(payment),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, InputObject)]
#[serde(rename_all = "camelCase")]
pub struct CreateReceiverInput {
    /// The receiving wallet address's URL: this instance's or another Open Payments server's.
    pub wallet_address_url: String,
    /// When the incoming payment expires (RFC 3339); Rafiki's default is 30 days.
    pub expires_at: Option<String>,
    pub incoming_amount: Option<AmountInput>,
    pub metadata: Option<JsonObject>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WalletAddressStatus {
    Inactive,
    Active,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct AdditionalProperty {
    key: String,
    value: String,
    visible_in_open_payments: bool,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Http {
    outgoing: HttpOutgoing,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct HttpOutgoing {
    auth_token: String,
    endpoint: String,
}

// === pages ===

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

impl From<SortOrder> for instance::SortOrder {
    fn from(order: SortOrder) -> Self {
        match order {
            SortOrder::Asc => instance::SortOrder::Asc,
            SortOrder::Desc => instance::SortOrder::Desc,
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    end_cursor: Option<String>,
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
}

impl PageInfo {
    pub(super) fn of<T>(page: &Page<T>, id_of: impl Fn(&T) -> String) -> Self {
        Self {
            start_cursor: page.items.first().map(&id_of),
            end_cursor: page.items.last().map(&id_of),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct AssetEdge {
    node: Asset,
    cursor: String,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct AssetsConnection {
    page_info: PageInfo,
    edges: Vec<AssetEdge>,
}

impl From<Page<instance::Asset>> for AssetsConnection {
    fn from(page: Page<instance::Asset>) -> Self {
        Self {
            page_info: PageInfo::of(&page, |a| a.id.to_string()),
            edges: page
                .items
                .into_iter()
                .map(|a| AssetEdge {
                    cursor: a.id.to_string(),
                    node: Asset(a),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct PeerEdge {
    node: Peer,
    cursor: String,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct PeersConnection {
    page_info: PageInfo,
    edges: Vec<PeerEdge>,
}

impl From<Page<Arc<instance::Peer>>> for PeersConnection {
    fn from(page: Page<Arc<instance::Peer>>) -> Self {
        Self {
            page_info: PageInfo::of(&page, |p| p.id.to_string()),
            edges: page
                .items
                .into_iter()
                .map(|p| PeerEdge {
                    cursor: p.id.to_string(),
                    node: Peer(p),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct WalletAddressEdge {
    node: WalletAddress,
    cursor: String,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct WalletAddressesConnection {
    page_info: PageInfo,
    edges: Vec<WalletAddressEdge>,
}

impl From<Page<Arc<instance::WalletAddress>>> for WalletAddressesConnection {
    fn from(page: Page<Arc<instance::WalletAddress>>) -> Self {
        Self {
            page_info: PageInfo::of(&page, |w| w.id.to_string()),
            edges: page
                .items
                .into_iter()
                .map(|w| WalletAddressEdge {
                    cursor: w.id.to_string(),
                    node: WalletAddress(w),
                })
                .collect(),
        }
    }
}

// === inputs ===

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CreateAssetInput {
    pub code: String,
    pub scale: UInt8,
    pub withdrawal_threshold: Option<UInt64>,
    pub liquidity_threshold: Option<UInt64>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct UpdateAssetInput {
    pub id: String,
    pub withdrawal_threshold: Option<UInt64>,
    pub liquidity_threshold: Option<UInt64>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct DeleteAssetInput {
    pub id: ID,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct HttpIncomingInput {
    pub auth_tokens: Vec<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct HttpOutgoingInput {
    pub auth_token: String,
    pub endpoint: String,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct HttpInput {
    pub incoming: Option<HttpIncomingInput>,
    pub outgoing: HttpOutgoingInput,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CreatePeerInput {
    pub max_packet_amount: Option<UInt64>,
    pub http: HttpInput,
    pub asset_id: String,
    pub static_ilp_address: String,
    pub name: Option<String>,
    pub liquidity_threshold: Option<UInt64>,
    pub initial_liquidity: Option<UInt64>,
    pub idempotency_key: Option<String>,
    pub routes: Option<Vec<String>>,
}

/// Peering by URL. The deposit may come under any of its three names.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CreateOrUpdatePeerByUrlInput {
    pub max_packet_amount: Option<UInt64>,
    pub asset_id: String,
    /// The peer's auto-peering URL.
    pub peer_url: String,
    pub name: Option<String>,
    pub liquidity_threshold: Option<UInt64>,
    /// Liquidity to deposit for the peer (today's name).
    pub liquidity_to_deposit: Option<UInt64>,
    /// Liquidity to deposit for the peer (the peering guide's name).
    pub initial_liquidity: Option<UInt64>,
    /// Liquidity to deposit for the peer (the 2023 name).
    pub added_liquidity: Option<UInt64>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct UpdatePeerInput {
    pub id: String,
    pub max_packet_amount: Option<UInt64>,
    pub http: Option<HttpInput>,
    pub static_ilp_address: Option<String>,
    pub name: Option<String>,
    pub liquidity_threshold: Option<UInt64>,
    pub idempotency_key: Option<String>,
    pub routes: Option<Vec<String>>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct DeletePeerInput {
    pub id: ID,
    pub idempotency_key: Option<String>,
}

/// A deposit into a peer's liquidity, under both its names.
#[derive(Debug, Clone, InputObject, Serialize)]
#[graphql(name = "DepositPeerLiquidityInput")]
pub struct DepositPeerLiquidityInput {
    pub peer_id: String,
    pub amount: UInt64,
    pub id: String,
    pub idempotency_key: Option<String>,
}

/// The seed era's name for DepositPeerLiquidityInput.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct AddPeerLiquidityInput {
    pub peer_id: String,
    pub amount: UInt64,
    pub id: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct DepositAssetLiquidityInput {
    pub asset_id: String,
    pub amount: UInt64,
    pub id: String,
    pub idempotency_key: Option<String>,
}

/// The seed era's name for DepositAssetLiquidityInput.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct AddAssetLiquidityInput {
    pub asset_id: String,
    pub amount: UInt64,
    pub id: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CreateWalletAddressWithdrawalInput {
    pub wallet_address_id: String,
    /// The withdrawal's id (a UUID), for posting or voiding it.
    pub id: String,
    pub idempotency_key: String,
    /// 0: single-phase, posted at once. N: two-phase, voided after N seconds unless posted.
    pub timeout_seconds: UInt64,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CreateIncomingPaymentWithdrawalInput {
    pub incoming_payment_id: String,
    pub idempotency_key: String,
    /// 0: single-phase, posted at once. N: two-phase, voided after N seconds unless posted.
    pub timeout_seconds: UInt64,
}

/// A withdrawal of everything a wallet address held.
#[derive(Debug, Clone, SimpleObject)]
pub struct WalletAddressWithdrawal {
    pub id: String,
    pub amount: UInt64,
    pub wallet_address: WalletAddress,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CreatePeerLiquidityWithdrawalInput {
    pub peer_id: String,
    pub amount: UInt64,
    pub id: String,
    pub idempotency_key: Option<String>,
    /// Absent: two-phase without expiry. 0: single-phase. N: two-phase, voided after N seconds.
    pub timeout_seconds: Option<UInt64>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CreateAssetLiquidityWithdrawalInput {
    pub asset_id: String,
    pub amount: UInt64,
    pub id: String,
    pub idempotency_key: Option<String>,
    /// Absent: two-phase without expiry. 0: single-phase. N: two-phase, voided after N seconds.
    pub timeout_seconds: Option<UInt64>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct PostLiquidityWithdrawalInput {
    pub withdrawal_id: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct VoidLiquidityWithdrawalInput {
    pub withdrawal_id: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct AdditionalPropertyInput {
    pub key: String,
    pub value: String,
    pub visible_in_open_payments: bool,
}

impl From<AdditionalPropertyInput> for instance::AdditionalProperty {
    fn from(input: AdditionalPropertyInput) -> Self {
        Self {
            key: input.key,
            value: input.value,
            visible_in_open_payments: input.visible_in_open_payments,
        }
    }
}

#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CreateWalletAddressInput {
    pub asset_id: String,
    /// A full URL under this instance's Open Payments URL, or only the path to put after it.
    pub address: String,
    pub public_name: Option<String>,
    pub idempotency_key: Option<String>,
    pub additional_properties: Option<Vec<AdditionalPropertyInput>>,
}

/// What is left out stays as it is; given `additionalProperties` replace all the old ones.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct UpdateWalletAddressInput {
    pub id: ID,
    pub public_name: Option<String>,
    pub status: Option<WalletAddressStatus>,
    pub idempotency_key: Option<String>,
    pub additional_properties: Option<Vec<AdditionalPropertyInput>>,
}

// === payloads ===

/// A mutation payload: the seed era's `code`, `success`, `message` and the entity.
pub trait Payload: Clone + Send + Sync + 'static {
    fn from_outcome(outcome: Outcome) -> Self;
}

macro_rules! payload {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty),* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, SimpleObject)]
        pub struct $name {
            /// The seed era's status, as a string: "200", or "400", "404", "409"... for a
            /// refusal. Selecting `code` or `message` asks for the seed era's dialect: a refusal
            /// comes back as this payload. Without them, a refusal is a GraphQL error with
            /// today's message and `extensions.code`, and `data` is null, as Rafiki reports it.
            /// An instance's `ADMIN_API_DIALECT` (`seed` or `v2`) may force either way.
            pub code: String,
            pub success: bool,
            /// The seed era's message ("Created ILP Peer", "Unknown peer"...). Selecting it asks
            /// for the seed era's dialect, as `code` does.
            pub message: String,
            $(pub $field: $ty,)*
        }

        impl Payload for $name {
            fn from_outcome(outcome: Outcome) -> Self {
                Self {
                    code: outcome.code.to_owned(),
                    success: outcome.success,
                    message: outcome.message,
                    $($field: Default::default(),)*
                }
            }
        }
    };
}

pub(crate) use payload;

payload!(AssetMutationResponse { asset: Option<Asset> });
payload!(DeleteAssetMutationResponse { asset: Option<Asset> });
payload!(CreatePeerMutationResponse { peer: Option<Peer> });
payload!(UpdatePeerMutationResponse { peer: Option<Peer> });
payload!(CreateOrUpdatePeerByUrlMutationResponse { peer: Option<Peer> });
payload!(DeletePeerMutationResponse {});
payload!(CreateWalletAddressMutationResponse { wallet_address: Option<WalletAddress> });
payload!(
    /// `createWalletAddressWithdrawal`'s answer: what was withdrawn.
    WalletAddressWithdrawalMutationResponse {
        withdrawal: Option<WalletAddressWithdrawal>
    }
);
payload!(CreateReceiverResponse { receiver: Option<Receiver> });
payload!(UpdateWalletAddressMutationResponse { wallet_address: Option<WalletAddress> });

/// The payload of every liquidity mutation.
#[derive(Debug, Clone, SimpleObject)]
pub struct LiquidityMutationResponse {
    /// The seed era's status, as a string: "200", or "400", "404", "409"... for a refusal.
    /// Selecting `code`, `message` or `error` asks for the seed era's dialect: a refusal comes
    /// back as this payload. Without them, a refusal is a GraphQL error with today's message and
    /// `extensions.code`, and the mutation's value is null, as Rafiki reports it. An instance's
    /// `ADMIN_API_DIALECT` (`seed` or `v2`) may force either way.
    pub code: String,
    pub success: bool,
    /// The seed era's message ("Added peer liquidity", "Transfer exists"...). Selecting it asks
    /// for the seed era's dialect, as `code` does.
    pub message: String,
    /// The seed era's reason for a refusal. Selecting it asks for the seed era's dialect, as
    /// `code` does.
    pub error: Option<LiquidityErrorCode>,
}

impl Payload for LiquidityMutationResponse {
    fn from_outcome(outcome: Outcome) -> Self {
        Self {
            code: outcome.code.to_owned(),
            success: outcome.success,
            message: outcome.message,
            error: outcome.liquidity_error,
        }
    }
}

// === accounting ===

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TransferState {
    Pending,
    Posted,
    Voided,
    /// peerlab's addition: a pending transfer whose timeout passed (Rafiki shows these as voided
    /// or still pending, depending on its ledger).
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TransferType {
    Deposit,
    Withdrawal,
    Transfer,
}

/// One transfer, as Rafiki's `accountingTransfers` lists it.
#[derive(Debug, Clone)]
pub struct AccountingTransfer(pub instance::TransferRecord);

#[Object]
impl AccountingTransfer {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn debit_account_id(&self) -> ID {
        ID(self.0.debit_account.to_string())
    }
    async fn credit_account_id(&self) -> ID {
        ID(self.0.credit_account.to_string())
    }
    async fn amount(&self) -> UInt64 {
        UInt64(self.0.amount)
    }
    async fn transfer_type(&self) -> TransferType {
        match self.0.kind {
            instance::TransferRecordKind::Deposit => TransferType::Deposit,
            instance::TransferRecordKind::Withdrawal => TransferType::Withdrawal,
            instance::TransferRecordKind::Transfer => TransferType::Transfer,
        }
    }
    async fn ledger(&self) -> async_graphql::Result<UInt8> {
        u8::try_from(self.0.ledger)
            .map(UInt8)
            .map_err(|_| "ledger number is larger than a UInt8".into())
    }
    async fn created_at(&self) -> String {
        iso_timestamp(self.0.created_at)
    }
    async fn state(&self) -> TransferState {
        match self.0.state {
            instance::TransferRecordState::Pending => TransferState::Pending,
            instance::TransferRecordState::Posted => TransferState::Posted,
            instance::TransferRecordState::Voided => TransferState::Voided,
            instance::TransferRecordState::Expired => TransferState::Expired,
        }
    }
    async fn expires_at(&self) -> Option<String> {
        self.0.expires_at.map(iso_timestamp)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PacketTransferTotals(pub instance::PacketTotals);

/// peerlab's addition: running totals of the packet transfers that ended on one side of an
/// account since the instance started (the lists show only the latest packets).
#[Object]
impl PacketTransferTotals {
    /// Fulfilled packets (their transfers were posted).
    async fn posted_count(&self) -> UInt64 {
        UInt64(self.0.posted_count)
    }
    /// The sum of the posted packets' amounts, in decimal: a sum may exceed UInt64.
    async fn posted_amount(&self) -> String {
        self.0.posted_amount.to_string()
    }
    /// Rejected or failed packets (their transfers were voided).
    async fn voided_count(&self) -> UInt64 {
        UInt64(self.0.voided_count)
    }
    /// Packets whose transfer lapsed before a reply came.
    async fn expired_count(&self) -> UInt64 {
        UInt64(self.0.expired_count)
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct AccountingTransferConnection {
    pub debits: Vec<AccountingTransfer>,
    pub credits: Vec<AccountingTransfer>,
    /// peerlab's addition: every packet transfer that ended debiting the account.
    pub packet_debits: PacketTransferTotals,
    /// peerlab's addition: every packet transfer that ended crediting the account.
    pub packet_credits: PacketTransferTotals,
}

impl From<instance::AccountTransfers> for AccountingTransferConnection {
    fn from(transfers: instance::AccountTransfers) -> Self {
        Self {
            debits: transfers
                .debits
                .into_iter()
                .map(AccountingTransfer)
                .collect(),
            credits: transfers
                .credits
                .into_iter()
                .map(AccountingTransfer)
                .collect(),
            packet_debits: PacketTransferTotals(transfers.packet_debits),
            packet_credits: PacketTransferTotals(transfers.packet_credits),
        }
    }
}

// === webhook events ===

/// A recorded webhook event: `data` is the JSON Rafiki sends for it.
#[derive(Debug, Clone)]
pub struct WebhookEvent(pub Arc<instance::WebhookEvent>);

#[Object]
impl WebhookEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    #[graphql(name = "type")]
    async fn event_type(&self) -> &'static str {
        self.0.event_type.as_str()
    }
    async fn data(&self) -> JsonObject {
        JsonObject(self.0.data())
    }
    async fn created_at(&self) -> String {
        iso_timestamp(self.0.created_at)
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookEventsEdge {
    node: WebhookEvent,
    cursor: String,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookEventsConnection {
    page_info: PageInfo,
    edges: Vec<WebhookEventsEdge>,
}

impl From<Page<Arc<instance::WebhookEvent>>> for WebhookEventsConnection {
    fn from(page: Page<Arc<instance::WebhookEvent>>) -> Self {
        Self {
            page_info: PageInfo::of(&page, |e| e.id.to_string()),
            edges: page
                .items
                .into_iter()
                .map(|event| WebhookEventsEdge {
                    cursor: event.id.to_string(),
                    node: WebhookEvent(event),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default, InputObject)]
pub struct FilterString {
    #[graphql(name = "in")]
    pub include: Option<Vec<String>>,
    pub not_in: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, InputObject)]
pub struct WebhookEventFilter {
    #[graphql(name = "type")]
    pub event_type: Option<FilterString>,
}

impl From<Option<WebhookEventFilter>> for instance::EventTypeFilter {
    fn from(filter: Option<WebhookEventFilter>) -> Self {
        let types = filter.and_then(|f| f.event_type).unwrap_or_default();
        Self {
            include: types.include.unwrap_or_default(),
            exclude: types.not_in.unwrap_or_default(),
        }
    }
}
