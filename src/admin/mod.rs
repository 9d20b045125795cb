//! The Rafiki-compatible admin API: GraphQL over HTTP, a thin skin over [`crate::instance`].
//!
//! One schema serves both of Rafiki's eras: the seed document's `addPeerLiquidity` and payloads
//! with `code`, `success`, `message`, and today's `depositPeerLiquidity` with `input` objects and
//! `idempotencyKey`. A refusal is reported the way the client's era did: as a payload when the
//! selection asks for `code` or `message`, else as a GraphQL error ([`dialect`]; design.md, "The
//! admin API dialect").

pub mod dialect;
pub mod graphiql;
pub mod guard;
pub mod http;
pub mod idempotency;
mod mutation;
pub mod outcome;
pub mod payments;
pub mod peerlab;
mod query;
pub mod scalars;
pub mod signature;
mod tokens;
pub mod types;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::autopeer::AutoPeering;
use crate::connector::Connector;
use crate::instance::Instance;
use crate::payments::Payments;

/// Every query: the instance's services', the payments' and peerlab's own.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    query::InstanceQuery,
    payments::PaymentQuery,
    peerlab::PeerlabQuery,
);

/// Every mutation: the instance's services', the payments' and peerlab's own.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    mutation::InstanceMutation,
    payments::PaymentMutation,
    peerlab::PeerlabMutation,
);

pub type AdminSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The services the admin API is a skin over.
pub struct AdminServices {
    pub instance: Arc<Instance>,
    pub payments: Arc<Payments>,
    pub auto_peering: Arc<AutoPeering>,
    /// Read for `peerlabStatus`'s packet counters.
    pub connector: Arc<Connector>,
    pub mock_operator: peerlab::MockOperator,
}

/// The schema, serving `instance` (and peering by URL through `auto_peering`), reporting refusals
/// as `dialect` says. Depth, cost and aliases are limited by [`guard`] before a request reaches
/// it, not by async-graphql's own limits, which would count introspection too.
pub fn schema(services: AdminServices, dialect: dialect::DialectSetting) -> AdminSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .data(services.instance)
    .data(services.payments)
    .data(services.auto_peering)
    .data(services.connector)
    .data(services.mock_operator)
    .data(dialect)
    .data(idempotency::IdempotencyStore::default())
    .disable_suggestions()
    .finish()
}

/// The schema's SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .finish()
    .sdl()
}
