//! peerlab's own admin fields, beside Rafiki's (every name starts with `peerlab`, so none can
//! clash with a field Rafiki adds): what `peerlab run --targets` needs to drive and check
//! instances that run elsewhere through their public API alone, as it checks embedded ones.
//!
//! - `peerlabStatus`: the ledger's audit, the pending transfers, and the packet counters and
//!   latency of the packets this instance sent, read at one moment;
//! - `peerlabMockOperatorAccount` / `peerlabOpenMockOperatorAccount`: an account holder's balance
//!   at the mock operator (`MOCK_OPERATOR`), which a topology's `balance` opens.
//!
//! A real Rafiki has none of them: the runner reports what it could not check there.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::outcome::{ErrorCode, graphql_error};
use super::scalars::UInt64;
use crate::connector::{Connector, PacketCounts};
use crate::events::mock_operator::{Holding, OperatorBooks};
use crate::instance::Instance;

/// The mock operator's books, when the instance runs it (schema data).
#[derive(Clone, Default)]
pub struct MockOperator(pub Option<Arc<OperatorBooks>>);

#[derive(Default)]
pub struct PeerlabQuery;

#[derive(Default)]
pub struct PeerlabMutation;

/// The instance's own checks and counters.
#[derive(SimpleObject)]
pub struct PeerlabStatus {
    /// Whether the ledger balances: per asset the balances sum to zero, no account beyond its
    /// limit.
    ledger_balanced: bool,
    /// What is wrong when it does not.
    ledger_violation: Option<String>,
    /// Transfers created and neither posted nor voided yet.
    pending_transfers: UInt64,
    packets: PeerlabPacketStats,
}

/// Packets that ended, since the instance started.
#[derive(SimpleObject)]
pub struct PeerlabPacketStats {
    /// Packets peers sent this instance.
    from_peers: PeerlabPacketCounts,
    /// Packets this instance sent to peers.
    sent: PeerlabPacketCounts,
    /// Of those from peers, rate probes (unfulfillable, for quotes).
    probes: UInt64,
    /// Of those from peers, STREAM packets carrying no money.
    data_only: UInt64,
    /// How long the packets it sent took, as the non-empty buckets of its histogram (a
    /// bucket's value in microseconds and its count), so that a reader can merge instances'.
    sent_latency: Vec<PeerlabLatencyBucket>,
}

#[derive(SimpleObject)]
pub struct PeerlabPacketCounts {
    fulfilled: UInt64,
    /// Rejects by ILP error code, in code order.
    rejected: Vec<PeerlabRejectCount>,
}

#[derive(SimpleObject)]
pub struct PeerlabRejectCount {
    code: String,
    count: UInt64,
}

#[derive(SimpleObject)]
pub struct PeerlabLatencyBucket {
    micros: UInt64,
    count: UInt64,
}

/// An account holder at the mock operator.
#[derive(SimpleObject)]
pub struct PeerlabMockOperatorAccount {
    wallet_address_id: String,
    /// What the holder may spend.
    balance: UInt64,
    /// Reserved for outgoing payments under way.
    reserved: UInt64,
}

#[derive(InputObject)]
pub struct PeerlabOpenMockOperatorAccountInput {
    wallet_address_id: String,
    balance: UInt64,
}

impl From<PacketCounts> for PeerlabPacketCounts {
    fn from(counts: PacketCounts) -> Self {
        Self {
            fulfilled: UInt64(counts.fulfilled),
            rejected: counts
                .rejected
                .into_iter()
                .map(|(code, count)| PeerlabRejectCount {
                    code,
                    count: UInt64(count),
                })
                .collect(),
        }
    }
}

fn account(wallet_address_id: String, holding: Holding) -> PeerlabMockOperatorAccount {
    PeerlabMockOperatorAccount {
        wallet_address_id,
        balance: UInt64(holding.balance),
        reserved: UInt64(holding.reserved),
    }
}

/// The books, or the error a request to an instance without the mock operator gets.
fn books<'a>(ctx: &Context<'a>) -> Result<&'a Arc<OperatorBooks>> {
    ctx.data_unchecked::<MockOperator>()
        .0
        .as_ref()
        .ok_or_else(|| {
            graphql_error(
                "this instance does not run the mock operator (MOCK_OPERATOR)",
                ErrorCode::BadUserInput,
            )
        })
}

#[Object]
impl PeerlabQuery {
    /// peerlab only: the ledger's audit, pending transfers and packet counters.
    async fn peerlab_status(&self, ctx: &Context<'_>) -> PeerlabStatus {
        let instance = ctx.data_unchecked::<Arc<Instance>>();
        let stats = ctx.data_unchecked::<Arc<Connector>>().stats();
        let audit = instance.audit();
        let snapshot = stats.snapshot();
        let mut latency = crate::connector::stats::latency_histogram();
        stats.merge_sent_latency(&mut latency);
        PeerlabStatus {
            ledger_balanced: audit.is_ok(),
            ledger_violation: audit.err().map(|violation| violation.to_string()),
            pending_transfers: UInt64(
                u64::try_from(instance.pending_transfer_count()).unwrap_or(u64::MAX),
            ),
            packets: PeerlabPacketStats {
                from_peers: snapshot.from_peers.into(),
                sent: snapshot.sent.into(),
                probes: UInt64(snapshot.probes),
                data_only: UInt64(snapshot.data_only),
                sent_latency: latency
                    .iter_recorded()
                    .map(|bucket| PeerlabLatencyBucket {
                        micros: UInt64(bucket.value_iterated_to()),
                        count: UInt64(bucket.count_at_value()),
                    })
                    .collect(),
            },
        }
    }

    /// peerlab only: the account holder of a wallet address at the mock operator; null when none
    /// was opened. An error when the instance does not run the mock operator.
    async fn peerlab_mock_operator_account(
        &self,
        ctx: &Context<'_>,
        wallet_address_id: String,
    ) -> Result<Option<PeerlabMockOperatorAccount>> {
        let books = books(ctx)?;
        let Ok(id) = uuid::Uuid::parse_str(&wallet_address_id) else {
            return Ok(None);
        };
        Ok(books
            .holding(id)
            .map(|holding| account(wallet_address_id, holding)))
    }
}

#[Object]
impl PeerlabMutation {
    /// peerlab only: opens (or resets) the account holder of a wallet address at the mock
    /// operator with a balance, which then funds that wallet address's outgoing payments.
    async fn peerlab_open_mock_operator_account(
        &self,
        ctx: &Context<'_>,
        input: PeerlabOpenMockOperatorAccountInput,
    ) -> Result<PeerlabMockOperatorAccount> {
        let books = books(ctx)?;
        let instance = ctx.data_unchecked::<Arc<Instance>>();
        let wallet = instance
            .wallet_address(&input.wallet_address_id)
            .ok_or_else(|| graphql_error("Wallet address not found", ErrorCode::NotFound))?;
        books.open(wallet.id, input.balance.0);
        let holding = books.holding(wallet.id).unwrap_or_default();
        Ok(account(wallet.id.to_string(), holding))
    }
}
