//! The STREAM sender (RFC 29), a library API: pay a receiving address (or an SPSP URL) a source
//! amount or a delivered amount, through any [`PacketLink`].
//!
//! A payment goes as the JS sender's does (reference/ilp.md §6.7): IL-DCP to learn its own
//! address and asset; unfulfillable probes of growing sizes to learn the exchange rate, the
//! receiver's asset and the largest packet the path takes; then money packets, several in
//! flight, each asking the receiver to accept no less than the probed rate less the slippage;
//! a 0-amount ConnectionClose at the end. Rejects are handled by class (§5.10): F08 shrinks the
//! packets, T04 pauses and resumes, other T codes are retried with backoff, anything else stops
//! the payment with its reason.
//!
//! - [`link`]: the transports (ILP-over-HTTP, in-process).
//! - [`destination`]: receiving addresses and SPSP.
//! - `connection`: the STREAM packets of one payment and what their replies mean.
//! - [`rate`]: exact rate and packet-size arithmetic.
//! - `budget`: how much is left to send.
//! - `congestion`: packets in flight and backoff.
//! - `probe` and `money`: the two phases of a payment.

mod budget;
mod congestion;
mod connection;
pub mod destination;
pub mod link;
mod money;
mod probe;
pub mod rate;
#[cfg(test)]
mod tests;

use crate::clock::Instant;
use std::collections::BTreeMap;
use std::time::Duration;

use thiserror::Error;

use crate::ilp::ildcp::{IldcpError, ildcp_request};
use crate::ilp::stream::StreamErrorCode;
use crate::ilp::{Address, ErrorCode, IldcpResponse, Reply, Timestamp};

pub use connection::{AssetDetails, RejectInfo};
pub use destination::{Destination, SpspError};
pub use link::{HttpLink, InProcessLink, LinkError, PacketLink};
pub use rate::Ratio;

use budget::Overflow;
use congestion::Backoff;
use connection::Connection;

/// How long a link may take past a packet's expiry before the sender gives up on the reply.
/// Connectors answer by the expiry (R00 at the latest); this only covers the way back.
const REPLY_GRACE: Duration = Duration::from_secs(2);
/// The longest an SPSP query may take.
const SPSP_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest the best-effort close packet is waited for.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How much to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Exactly this much of the sender's asset leaves.
    Source(u64),
    /// At least this much of the receiver's asset arrives.
    Delivered(u64),
}

/// How a payment behaves. `Default` gives the JS sender's defaults where it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOptions {
    /// How much worse than the probed rate a packet may arrive (default 1%).
    pub slippage: Ratio,
    /// The whole payment's time: no packet is sent after it (default 60 s). Packets already in
    /// flight are waited for (at most their lifetime), so the report is exact.
    pub timeout: Duration,
    /// Each packet expires this long after it is sent (default 30 s, as JS).
    pub packet_lifetime: Duration,
    /// The most packets in flight at once (default 20).
    pub max_in_flight: usize,
    /// Temporary rejects other than T04 in a row before the payment stops (default 10). T04
    /// is waited out for as long as the timeout lasts.
    pub max_retries: u32,
    /// The first pause after a temporary reject (default 100 ms); each next one doubles...
    pub min_backoff: Duration,
    /// ...up to this (default 3 s).
    pub max_backoff: Duration,
    /// The sending instance's wall clock, from which packets' expiries are reckoned (default: an
    /// unskewed clock).
    pub clock: crate::clock::Clock,
}

impl Default for PaymentOptions {
    fn default() -> Self {
        Self {
            slippage: Ratio::percent(1),
            timeout: Duration::from_secs(60),
            packet_lifetime: Duration::from_secs(30),
            max_in_flight: 20,
            max_retries: 10,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3),
            clock: crate::clock::Clock::default(),
        }
    }
}

/// What a payment did. A failed payment carries one too: what moved before it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentReport {
    /// Source amount fulfilled.
    pub source_amount_sent: u64,
    /// What the receiver reported as arrived, in its asset.
    pub amount_delivered: u64,
    /// Money packets fulfilled.
    pub packets_fulfilled: u64,
    /// Money packets rejected, by code (`"T04"`); probes are not counted here.
    pub packets_rejected: BTreeMap<String, u64>,
    /// Rate probes sent.
    pub probe_packets: u64,
    /// Source amount on packets whose link failed before the reply: they may have been
    /// fulfilled. Never sent again.
    pub source_amount_in_doubt: u64,
    pub duration: Duration,
    /// The probed rate, receiver's units per sender's unit.
    pub exchange_rate: Option<Ratio>,
    /// The sender's address and asset, from IL-DCP.
    pub source_address: Option<Address>,
    pub source_asset: Option<AssetDetails>,
    /// The receiver's asset, when it named it.
    pub destination_asset: Option<AssetDetails>,
}

/// Why a payment failed. Variants after money may have moved carry the report so far.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentError {
    #[error("invalid payment: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Destination(#[from] SpspError),
    #[error("IL-DCP refused: {} {}", reject.code, reject.message)]
    Ildcp { reject: RejectInfo },
    #[error("IL-DCP answer unreadable: {0}")]
    IldcpResponse(IldcpError),
    #[error("no exchange rate: no probe packet arrived with a nonzero amount")]
    NoExchangeRate { report: Box<PaymentReport> },
    #[error("rejected {code} by {}: {message}", triggered_by.as_ref().map_or("?", Address::as_str))]
    Rejected {
        code: ErrorCode,
        message: String,
        triggered_by: Option<Address>,
        report: Box<PaymentReport>,
    },
    /// The receiver refused a packet because less than its minimum arrived: the rate moved
    /// beyond the slippage since the probe.
    #[error(
        "the exchange rate moved: {arrived} arrived for {sent} sent, at least {minimum} was needed"
    )]
    ExchangeRate {
        sent: u64,
        minimum: u64,
        arrived: u64,
        report: Box<PaymentReport>,
    },
    #[error("the receiver closed the connection")]
    ReceiverClosed { report: Box<PaymentReport> },
    #[error("timed out{}", last_reject.map(|code| format!(" (last reject {code})")).unwrap_or_default())]
    TimedOut {
        last_reject: Option<ErrorCode>,
        report: Box<PaymentReport>,
    },
    /// The link failed: the packet then in flight may or may not have been fulfilled (see
    /// `source_amount_in_doubt`).
    #[error("the link failed: {error}")]
    Link {
        error: LinkError,
        report: Box<PaymentReport>,
    },
    /// Delivered amount: the slippage's budget is spent and less arrived.
    #[error("delivered {} of {wanted}: the most the slippage allows is spent", report.amount_delivered)]
    InsufficientDelivery {
        wanted: u64,
        report: Box<PaymentReport>,
    },
    /// The path or the receiver broke the protocol (a probe fulfilled, a wrong fulfillment,
    /// absurd amounts).
    #[error("protocol violation: {detail}")]
    Protocol {
        detail: String,
        report: Box<PaymentReport>,
    },
}

impl PaymentError {
    /// What moved before the payment stopped, when it got that far.
    pub fn report(&self) -> Option<&PaymentReport> {
        match self {
            Self::Invalid(_)
            | Self::Destination(_)
            | Self::Ildcp { .. }
            | Self::IldcpResponse(_) => None,
            Self::NoExchangeRate { report }
            | Self::Rejected { report, .. }
            | Self::ExchangeRate { report, .. }
            | Self::ReceiverClosed { report }
            | Self::TimedOut { report, .. }
            | Self::Link { report, .. }
            | Self::InsufficientDelivery { report, .. }
            | Self::Protocol { report, .. } => Some(report),
        }
    }
}

/// Why the probe or money phase stopped, before the report is attached.
#[derive(Debug)]
enum Stop {
    NoExchangeRate,
    Rejected(RejectInfo),
    ExchangeRate {
        sent: u64,
        minimum: u64,
        arrived: u64,
    },
    ReceiverClosed,
    TimedOut(Option<ErrorCode>),
    Link(LinkError),
    InsufficientDelivery(u64),
    Protocol(String),
}

impl From<Overflow> for Stop {
    fn from(overflow: Overflow) -> Self {
        Self::Protocol(overflow.to_string())
    }
}

impl Stop {
    fn with_report(self, report: PaymentReport) -> PaymentError {
        let report = Box::new(report);
        match self {
            Self::NoExchangeRate => PaymentError::NoExchangeRate { report },
            Self::Rejected(reject) => PaymentError::Rejected {
                code: reject.code,
                message: reject.message,
                triggered_by: reject.triggered_by,
                report,
            },
            Self::ExchangeRate {
                sent,
                minimum,
                arrived,
            } => PaymentError::ExchangeRate {
                sent,
                minimum,
                arrived,
                report,
            },
            Self::ReceiverClosed => PaymentError::ReceiverClosed { report },
            Self::TimedOut(last_reject) => PaymentError::TimedOut {
                last_reject,
                report,
            },
            Self::Link(error) => PaymentError::Link { error, report },
            Self::InsufficientDelivery(wanted) => {
                PaymentError::InsufficientDelivery { wanted, report }
            }
            Self::Protocol(detail) => PaymentError::Protocol { detail, report },
        }
    }
}

/// One payment under way: its link, connection, clock and tally.
struct Payment<'a, L> {
    link: &'a L,
    connection: Connection,
    options: &'a PaymentOptions,
    deadline: Instant,
    backoff: Backoff,
    report: PaymentReport,
}

/// What a rate probe learned about a path: enough to pay over it later without probing again
/// (a quote, then the payment it prices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbedPath {
    /// What arrived over what was sent, for the largest probe that arrived with something.
    pub rate: Ratio,
    /// The largest packet the path takes, when an F08 said so.
    pub max_packet: Option<u64>,
    /// The sender's address and asset, from IL-DCP.
    pub source_address: Address,
    pub source_asset: AssetDetails,
    /// The receiver's asset, when it named it.
    pub destination_asset: Option<AssetDetails>,
    pub probe_packets: u64,
    /// The probe's last STREAM sequence number: the payment's packets continue after it.
    pub last_sequence: u64,
}

/// Pays `destination` through `link`. See the module documentation for how.
pub async fn pay<L>(
    link: &L,
    destination: &Destination,
    amount: Amount,
    options: &PaymentOptions,
) -> Result<PaymentReport, PaymentError>
where
    L: PacketLink + Clone + 'static,
{
    let started = Instant::now();
    let deadline = check(amount, options, started)?;
    let (mut payment, source_asset) = Payment::open(link, destination, options, deadline).await?;
    let outcome = match payment.probe(amount, &source_asset).await {
        Ok(probed) => payment.send_money(amount, probed).await,
        Err(stop) => Err(stop),
    };
    payment.finish(outcome, started).await
}

/// Probes the rate and the path to `destination` for a payment of `amount`, as [`pay`] does
/// first, and stops there: nothing but unfulfillable probes is sent, and the connection is left
/// open for [`pay_probed`].
pub async fn probe_path<L>(
    link: &L,
    destination: &Destination,
    amount: Amount,
    options: &PaymentOptions,
) -> Result<ProbedPath, PaymentError>
where
    L: PacketLink + Clone + 'static,
{
    let started = Instant::now();
    let deadline = check(amount, options, started)?;
    let (mut payment, source_asset) = Payment::open(link, destination, options, deadline).await?;
    match payment.probe(amount, &source_asset).await {
        Ok(probed) => Ok(ProbedPath {
            rate: probed.rate,
            max_packet: probed.max_packet,
            source_address: payment.connection.source().clone(),
            source_asset,
            destination_asset: payment.report.destination_asset.clone(),
            probe_packets: payment.report.probe_packets,
            last_sequence: payment.connection.last_sequence(),
        }),
        Err(stop) => Err(payment.fail(stop, started).await),
    }
}

/// Pays `destination` over a path [`probe_path`] probed, at the rate it found: no IL-DCP and no
/// probes, straight to the money packets.
pub async fn pay_probed<L>(
    link: &L,
    destination: &Destination,
    amount: Amount,
    path: &ProbedPath,
    options: &PaymentOptions,
) -> Result<PaymentReport, PaymentError>
where
    L: PacketLink + Clone + 'static,
{
    let started = Instant::now();
    let deadline = check(amount, options, started)?;
    let receiving = destination
        .resolve(SPSP_TIMEOUT.min(options.timeout))
        .await?;
    let mut payment = Payment {
        link,
        connection: Connection::new(
            receiving,
            path.source_address.clone(),
            options.packet_lifetime,
        )
        .with_clock(options.clock.clone())
        .continuing(path.last_sequence),
        options,
        deadline,
        backoff: Backoff::new(options.min_backoff, options.max_backoff),
        report: PaymentReport {
            source_address: Some(path.source_address.clone()),
            source_asset: Some(path.source_asset.clone()),
            destination_asset: path.destination_asset.clone(),
            exchange_rate: Some(path.rate),
            ..PaymentReport::default()
        },
    };
    let probed = probe::Probed {
        rate: path.rate,
        max_packet: path.max_packet,
    };
    let outcome = payment.send_money(amount, probed).await;
    payment.finish(outcome, started).await
}

/// Checks the payment and the options; the payment's deadline.
fn check(
    amount: Amount,
    options: &PaymentOptions,
    started: Instant,
) -> Result<Instant, PaymentError> {
    if matches!(amount, Amount::Source(0) | Amount::Delivered(0)) {
        return Err(PaymentError::Invalid("the amount is 0"));
    }
    if !options.slippage.is_at_most_one() {
        return Err(PaymentError::Invalid("the slippage is more than 100%"));
    }
    if options.max_in_flight == 0 {
        return Err(PaymentError::Invalid("max_in_flight is 0"));
    }
    started
        .checked_add(options.timeout)
        .ok_or(PaymentError::Invalid("the timeout is too long"))
}

/// IL-DCP: the sender's address and asset, from the connector it sends through.
async fn ask_ildcp<L: PacketLink>(
    link: &L,
    options: &PaymentOptions,
) -> Result<IldcpResponse, PaymentError> {
    let request =
        ildcp_request(Timestamp::now_on(&options.clock).saturating_add(options.packet_lifetime));
    let reply = exchange(link, request, &options.clock)
        .await
        .map_err(|error| PaymentError::Link {
            error,
            report: Box::default(),
        })?;
    match reply {
        Reply::Fulfill(fulfill) => {
            IldcpResponse::from_fulfill(&fulfill).map_err(PaymentError::IldcpResponse)
        }
        Reply::Reject(reject) => Err(PaymentError::Ildcp {
            reject: RejectInfo {
                code: reject.code(),
                message: reject.message().to_owned(),
                triggered_by: reject.triggered_by().cloned(),
            },
        }),
    }
}

/// Sends one packet and waits for its reply, no longer than its expiry and a grace period.
async fn exchange<L: PacketLink>(
    link: &L,
    prepare: crate::ilp::Prepare,
    clock: &crate::clock::Clock,
) -> Result<Reply, LinkError> {
    let wait = prepare
        .expires_at()
        .duration_since(Timestamp::now_on(clock))
        .saturating_add(REPLY_GRACE);
    tokio::time::timeout(wait, link.send(prepare))
        .await
        .map_err(|_| LinkError::TimedOut)?
}

impl<'a, L: PacketLink + Clone + 'static> Payment<'a, L> {
    /// Resolves the destination and asks IL-DCP who the sender is: a payment ready to probe.
    async fn open(
        link: &'a L,
        destination: &Destination,
        options: &'a PaymentOptions,
        deadline: Instant,
    ) -> Result<(Self, AssetDetails), PaymentError> {
        let receiving = destination
            .resolve(SPSP_TIMEOUT.min(options.timeout))
            .await?;
        let ildcp = ask_ildcp(link, options).await?;
        let source_asset = AssetDetails {
            code: ildcp.asset_code().to_owned(),
            scale: ildcp.asset_scale(),
        };
        let payment = Self {
            link,
            connection: Connection::new(
                receiving,
                ildcp.client_address().clone(),
                options.packet_lifetime,
            )
            .with_clock(options.clock.clone()),
            options,
            deadline,
            backoff: Backoff::new(options.min_backoff, options.max_backoff),
            report: PaymentReport {
                source_address: Some(ildcp.client_address().clone()),
                source_asset: Some(source_asset.clone()),
                ..PaymentReport::default()
            },
        };
        Ok((payment, source_asset))
    }

    /// Closes the connection and reports the outcome.
    async fn finish(
        mut self,
        outcome: Result<(), Stop>,
        started: Instant,
    ) -> Result<PaymentReport, PaymentError> {
        match outcome {
            Ok(()) => {
                self.close(StreamErrorCode::NoError).await;
                self.report.duration = started.elapsed();
                Ok(self.report)
            }
            Err(stop) => Err(self.fail(stop, started).await),
        }
    }

    /// Closes the connection (unless the receiver did) and reports why the payment stopped.
    async fn fail(mut self, stop: Stop, started: Instant) -> PaymentError {
        if !matches!(stop, Stop::ReceiverClosed) {
            self.close(StreamErrorCode::ApplicationError).await;
        }
        self.report.duration = started.elapsed();
        stop.with_report(self.report)
    }

    /// Waits `delay`, or until the deadline if that comes first; false if the deadline came.
    async fn pause(&self, delay: Duration) -> bool {
        let until = Instant::now()
            .checked_add(delay)
            .map_or(self.deadline, |until| until.min(self.deadline));
        tokio::time::sleep_until(until).await;
        Instant::now() < self.deadline
    }

    /// Tells the receiver the connection is over. Best effort: its reply is not needed.
    async fn close(&mut self, code: StreamErrorCode) {
        let message = match code {
            StreamErrorCode::NoError => "",
            _ => "payment stopped",
        };
        let Ok(prepare) = self.connection.close(code, message) else {
            return;
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.link.send(prepare)).await;
    }
}
