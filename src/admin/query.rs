//! Queries: assets, peers and wallet addresses, one at a time or paged.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use super::dialect;
use super::outcome::{ErrorCode, Refusal, graphql_error};
use super::scalars::UInt8;
use super::types::{
    AccountingTransferConnection, Asset, AssetsConnection, IncomingPayment, Peer, PeersConnection,
    Receiver, SortOrder, WalletAddress, WalletAddressesConnection, WebhookEventFilter,
    WebhookEventsConnection,
};
use crate::instance::{
    AssetError, Instance, PageRequest, PaginationError, PeerError, WalletAddressError,
};

/// Assets, peers, wallet addresses, incoming payments, receivers: the queries of the instance's
/// own services (payments' are in [`super::payments`]).
#[derive(Default)]
pub struct InstanceQuery;

fn instance<'a>(ctx: &Context<'a>) -> &'a Arc<Instance> {
    ctx.data_unchecked::<Arc<Instance>>()
}

/// A page asked for wrongly, as a GraphQL error.
fn page_error(error: PaginationError) -> async_graphql::Error {
    Refusal::from(error).v2_error()
}

/// A Relay page request from a connection field's arguments.
pub(super) fn page_request(
    after: Option<String>,
    before: Option<String>,
    first: Option<i32>,
    last: Option<i32>,
    sort_order: Option<SortOrder>,
) -> PageRequest {
    PageRequest {
        after,
        before,
        first,
        last,
        order: sort_order.unwrap_or_default().into(),
    }
}

#[Object(name = "Query")]
impl InstanceQuery {
    /// An asset by id. When there is none: the error "Asset not found" (NOT_FOUND), as Rafiki
    /// answers today; null when `ADMIN_API_DIALECT=seed`.
    async fn asset(&self, ctx: &Context<'_>, id: String) -> Result<Option<Asset>> {
        match instance(ctx).asset(&id) {
            Some(asset) => Ok(Some(Asset(asset))),
            None => dialect::not_found(ctx, AssetError::UnknownAsset.into()),
        }
    }

    async fn asset_by_code_and_scale(
        &self,
        ctx: &Context<'_>,
        code: String,
        scale: UInt8,
    ) -> Option<Asset> {
        instance(ctx)
            .asset_by_code_and_scale(&code, scale.0)
            .map(Asset)
    }

    /// Assets, newest first unless `sortOrder: ASC`.
    async fn assets(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        sort_order: Option<SortOrder>,
    ) -> Result<AssetsConnection> {
        let request = page_request(after, before, first, last, sort_order);
        Ok(instance(ctx)
            .assets_page(&request)
            .map_err(page_error)?
            .into())
    }

    /// A peer by id. When there is none: the error "unknown peer" (NOT_FOUND), as Rafiki answers
    /// today; null when `ADMIN_API_DIALECT=seed`.
    async fn peer(&self, ctx: &Context<'_>, id: String) -> Result<Option<Peer>> {
        match instance(ctx).peer(&id) {
            Some(peer) => Ok(Some(Peer(peer))),
            None => dialect::not_found(ctx, PeerError::UnknownPeer.into()),
        }
    }

    /// The peer packets to this address in this asset go to (longest route prefix).
    async fn peer_by_address_and_asset(
        &self,
        ctx: &Context<'_>,
        static_ilp_address: String,
        asset_id: String,
    ) -> Option<Peer> {
        instance(ctx)
            .peer_by_address_and_asset(&static_ilp_address, &asset_id)
            .map(Peer)
    }

    /// Peers, newest first unless `sortOrder: ASC`.
    async fn peers(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        sort_order: Option<SortOrder>,
    ) -> Result<PeersConnection> {
        let request = page_request(after, before, first, last, sort_order);
        Ok(instance(ctx)
            .peers_page(&request)
            .map_err(page_error)?
            .into())
    }

    /// Webhook events (the latest 100,000), newest first unless `sortOrder: ASC`, filtered by
    /// type. `tenantId` is accepted for Rafiki's schema; an instance has one tenant.
    #[allow(clippy::too_many_arguments)]
    async fn webhook_events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        sort_order: Option<SortOrder>,
        filter: Option<WebhookEventFilter>,
        #[graphql(name = "tenantId")] _tenant_id: Option<String>,
    ) -> Result<WebhookEventsConnection> {
        let request = page_request(after, before, first, last, sort_order);
        Ok(instance(ctx)
            .webhook_events_page(&request, &filter.into())
            .map_err(page_error)?
            .into())
    }

    /// A wallet address by id. When there is none: the error "unknown wallet address"
    /// (NOT_FOUND), as Rafiki answers; null when `ADMIN_API_DIALECT=seed`.
    async fn wallet_address(&self, ctx: &Context<'_>, id: String) -> Result<Option<WalletAddress>> {
        match instance(ctx).wallet_address(&id) {
            Some(wallet) => Ok(Some(WalletAddress(wallet))),
            None => dialect::not_found(ctx, WalletAddressError::UnknownWalletAddress.into()),
        }
    }

    /// The wallet address at this URL (compared lower-cased), or null.
    async fn wallet_address_by_url(&self, ctx: &Context<'_>, url: String) -> Option<WalletAddress> {
        instance(ctx).wallet_address_by_url(&url).map(WalletAddress)
    }

    /// Wallet addresses, newest first unless `sortOrder: ASC`.
    async fn wallet_addresses(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        sort_order: Option<SortOrder>,
    ) -> Result<WalletAddressesConnection> {
        let request = page_request(after, before, first, last, sort_order);
        Ok(instance(ctx)
            .wallet_addresses_page(&request)
            .map_err(page_error)?
            .into())
    }

    /// An incoming payment at one of this instance's wallet addresses, by id. When there is
    /// none: the error "payment does not exist" (NOT_FOUND), as Rafiki answers; null when
    /// `ADMIN_API_DIALECT=seed`.
    async fn incoming_payment(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> Result<Option<IncomingPayment>> {
        match instance(ctx).incoming_payment(&id) {
            Some(payment) => Ok(Some(IncomingPayment(payment))),
            None => dialect::not_found(ctx, Refusal::lookup_not_found("payment does not exist")),
        }
    }

    /// A receiver by its incoming payment URL: this instance's, or read from another Open
    /// Payments server. When there is none: the error "receiver does not exist" (NOT_FOUND), as
    /// Rafiki answers; null when `ADMIN_API_DIALECT=seed`.
    async fn receiver(&self, ctx: &Context<'_>, id: String) -> Result<Option<Receiver>> {
        match ctx
            .data_unchecked::<Arc<crate::payments::Payments>>()
            .receiver(&id)
            .await
        {
            Ok(record) => Ok(Some(Receiver(record))),
            Err(error) => {
                tracing::debug!(%id, %error, "no receiver");
                dialect::not_found(ctx, Refusal::lookup_not_found("receiver does not exist"))
            }
        }
    }

    /// Transfers that debited and that credited an account (a peer's or an asset's id), at most
    /// `limit` (default 20, at most 1000) of each.
    ///
    /// What is kept: every admin-made transfer (deposits, withdrawals, a peer's initial
    /// liquidity), in full and with its current state; and of packets' transfers, the latest 100
    /// to end (posted, voided or expired) on the account, debits and credits together. A packet's
    /// transfer is listed once it has ended, never while in flight. Each list merges the two,
    /// oldest first by `createdAt` (admin-made first on equal times), and gives the first `limit`.
    /// `packetDebits` and `packetCredits` count every packet transfer that ever ended on the
    /// account, so totals stay exact while the lists stay bounded.
    async fn accounting_transfers(
        &self,
        ctx: &Context<'_>,
        id: String,
        limit: Option<i32>,
    ) -> Result<AccountingTransferConnection> {
        let limit = match limit {
            None => 20,
            Some(n) if (0..=1000).contains(&n) => n as usize,
            Some(_) => {
                return Err(graphql_error(
                    "limit must be between 0 and 1000",
                    ErrorCode::BadUserInput,
                ));
            }
        };
        Ok(instance(ctx).accounting_transfers(&id, limit).into())
    }
}
