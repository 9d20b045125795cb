//! The payment loop against a scripted path: a fake link that plays connector and receiver, so
//! that each reaction (F08 without data, rates that move, retries, link failures, a receiver
//! that closes, time running out) is exercised exactly.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::*;
use crate::ilp::ildcp::is_ildcp_request;
use crate::ilp::stream::{Frame, SharedSecret, StreamPacket};
use crate::ilp::{AmountTooLargeData, Fulfill, PacketType, Prepare, Reject};

const SECRET: [u8; 32] = [9; 32];

/// What the fake path does; every field has a harmless default.
struct Script {
    /// Applied to every packet, rounded down.
    rate: Ratio,
    /// Applied instead to fulfillable packets: the rate moved after the probe.
    money_rate: Option<Ratio>,
    max_packet: Option<u64>,
    /// Applied to fulfillable packets only: a limit the probes did not meet.
    money_max_packet: Option<u64>,
    /// Whether F08 carries the amounts.
    f08_data: bool,
    /// Fulfillable packets answered with this code before any goes through.
    temporary: Option<(ErrorCode, u32)>,
    /// Fulfillable packets fail on the link.
    link_fails: bool,
    /// The receiver closes the connection in its reply to this many-th Fulfill.
    close_on_fulfill: Option<u64>,
    /// What happened.
    fulfilled: Vec<u64>,
    probes: Vec<u64>,
    closes: u32,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            rate: Ratio::percent(100),
            money_rate: None,
            max_packet: None,
            money_max_packet: None,
            f08_data: true,
            temporary: None,
            link_fails: false,
            close_on_fulfill: None,
            fulfilled: Vec::new(),
            probes: Vec::new(),
            closes: 0,
        }
    }
}

#[derive(Clone)]
struct FakePath(Arc<Mutex<Script>>);

impl FakePath {
    fn new(script: Script) -> Self {
        Self(Arc::new(Mutex::new(script)))
    }

    fn script(&self) -> MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }

    fn answer(&self, prepare: &Prepare) -> Result<Reply, LinkError> {
        let reject = |code, data: Vec<u8>| {
            Ok(Reply::Reject(
                Reject::new(code, Some(Address::parse("test.path").unwrap()), "", data).unwrap(),
            ))
        };
        if is_ildcp_request(prepare) {
            let response = IldcpResponse::new(Address::parse("test.sender").unwrap(), 2, "USD");
            return Ok(Reply::Fulfill(response.unwrap().to_fulfill()));
        }
        let secret = SharedSecret::new(SECRET);
        let mut script = self.script();
        let fulfillable = prepare.execution_condition() == &secret.condition(prepare.data());
        let max = match script.money_max_packet {
            Some(max) if fulfillable => Some(max),
            _ => script.max_packet,
        };
        if let Some(max) = max
            && prepare.amount() > max
        {
            let data = AmountTooLargeData {
                received_amount: prepare.amount(),
                maximum_amount: max,
            };
            let data = if script.f08_data {
                data.encode().to_vec()
            } else {
                Vec::new()
            };
            return reject(ErrorCode::F08AmountTooLarge, data);
        }
        let Ok(request) = StreamPacket::decrypt(&secret, prepare.data()) else {
            return reject(ErrorCode::F06UnexpectedPayment, Vec::new());
        };
        let closing = request
            .frames
            .iter()
            .any(|frame| matches!(frame, Frame::ConnectionClose { .. }));
        if closing {
            script.closes += 1;
        }
        if fulfillable {
            if script.link_fails {
                return Err(LinkError::Transport("connection reset".into()));
            }
            if let Some((code, left)) = script.temporary
                && left > 0
            {
                script.temporary = Some((code, left - 1));
                return reject(code, Vec::new());
            }
        } else if !closing {
            script.probes.push(prepare.amount());
        }
        let rate = match script.money_rate {
            Some(rate) if fulfillable => rate,
            _ => script.rate,
        };
        let arrived = rate.mul_floor(prepare.amount()).unwrap();
        let mut frames = Vec::new();
        if request
            .frames
            .iter()
            .any(|frame| matches!(frame, Frame::ConnectionNewAddress { .. }))
        {
            frames.push(Frame::ConnectionAssetDetails {
                source_asset_code: "EUR".into(),
                source_asset_scale: 2,
            });
        }
        let accepts = fulfillable && arrived >= request.prepare_amount && !closing;
        if accepts && script.close_on_fulfill == Some(script.fulfilled.len() as u64 + 1) {
            frames.push(Frame::ConnectionClose {
                code: crate::ilp::stream::StreamErrorCode::NoError,
                message: String::new(),
            });
        }
        let reply = |carrier| {
            StreamPacket {
                sequence: request.sequence,
                ilp_packet_type: carrier,
                prepare_amount: arrived,
                frames: frames.clone(),
            }
            .encrypt(&secret)
        };
        if accepts {
            script.fulfilled.push(prepare.amount());
            let fulfillment = secret.fulfillment(prepare.data());
            return Ok(Reply::Fulfill(
                Fulfill::new(fulfillment, reply(PacketType::Fulfill)).unwrap(),
            ));
        }
        reject(ErrorCode::F99ApplicationError, reply(PacketType::Reject))
    }
}

impl PacketLink for FakePath {
    async fn send(&self, prepare: Prepare) -> Result<Reply, LinkError> {
        // Replies come back on later polls, so packets really are in flight together.
        tokio::task::yield_now().await;
        self.answer(&prepare)
    }
}

fn destination() -> Destination {
    Destination::Address {
        address: Address::parse("test.receiver.token").unwrap(),
        shared_secret: SharedSecret::new(SECRET),
    }
}

fn quick() -> PaymentOptions {
    PaymentOptions {
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..PaymentOptions::default()
    }
}

async fn pay_on(path: &FakePath, amount: Amount) -> Result<PaymentReport, PaymentError> {
    pay(path, &destination(), amount, &quick()).await
}

#[tokio::test]
async fn probes_go_up_in_the_js_sizes_to_the_amount_and_the_money_follows() {
    let path = FakePath::new(Script::default());
    let report = pay_on(&path, Amount::Source(2_000_000)).await.unwrap();
    assert_eq!(path.script().probes, [1, 1_000, 1_000_000, 2_000_000]);
    assert_eq!(path.script().fulfilled, [2_000_000]);
    assert_eq!(path.script().closes, 1);
    assert_eq!(report.probe_packets, 4);
    assert_eq!(
        report.destination_asset,
        Some(AssetDetails {
            code: "EUR".into(),
            scale: 2
        })
    );
}

#[tokio::test]
async fn without_f08_data_packets_shrink_one_unit_at_a_time() {
    let path = FakePath::new(Script {
        max_packet: Some(10),
        f08_data: false,
        ..Script::default()
    });
    let report = pay_on(&path, Amount::Source(25)).await.unwrap();
    // Probe 1, then 25 refused; 24, 23, ... down to 10 found by the probes.
    assert_eq!(path.script().probes, [1, 10]);
    let mut fulfilled = path.script().fulfilled.clone();
    fulfilled.sort_unstable();
    assert_eq!(fulfilled, [5, 10, 10]);
    assert_eq!(report.source_amount_sent, 25);
    assert_eq!(report.probe_packets, 2 + 15);
}

#[tokio::test]
async fn f08_during_the_payment_shrinks_the_packets_in_flight_and_after() {
    let path = FakePath::new(Script {
        money_max_packet: Some(30),
        ..Script::default()
    });
    let report = pay_on(&path, Amount::Source(100)).await.unwrap();
    assert_eq!(report.source_amount_sent, 100);
    assert_eq!(report.packets_rejected["F08"], 1);
    let fulfilled = path.script().fulfilled.clone();
    assert!(
        fulfilled.iter().all(|&amount| amount <= 30),
        "{fulfilled:?}"
    );
    assert_eq!(fulfilled.iter().sum::<u64>(), 100);
}

#[tokio::test]
async fn a_rate_that_moves_beyond_the_slippage_stops_the_payment() {
    let path = FakePath::new(Script {
        rate: Ratio::percent(100),
        money_rate: Some(Ratio::percent(98)),
        ..Script::default()
    });
    let outcome = pay_on(&path, Amount::Source(1_000)).await;
    let Err(PaymentError::ExchangeRate {
        sent,
        minimum,
        arrived,
        report,
    }) = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!((sent, minimum, arrived), (1_000, 990, 980));
    assert_eq!(report.source_amount_sent, 0);
    assert_eq!(report.packets_rejected["F99"], 1);
    assert!(path.script().fulfilled.is_empty());

    // Within the slippage, it goes through.
    let path = FakePath::new(Script {
        money_rate: Some(Ratio::percent(99)),
        ..Script::default()
    });
    let report = pay_on(&path, Amount::Source(1_000)).await.unwrap();
    assert_eq!(report.amount_delivered, 990);
}

#[tokio::test]
async fn temporary_rejects_are_retried_up_to_the_limit() {
    let path = FakePath::new(Script {
        temporary: Some((ErrorCode::T05RateLimited, 3)),
        ..Script::default()
    });
    let report = pay_on(&path, Amount::Source(100)).await.unwrap();
    assert_eq!(report.packets_rejected["T05"], 3);
    assert_eq!(report.source_amount_sent, 100);

    let path = FakePath::new(Script {
        temporary: Some((ErrorCode::T05RateLimited, 100)),
        ..Script::default()
    });
    let outcome = pay_on(&path, Amount::Source(100)).await;
    let Err(PaymentError::Rejected { code, report, .. }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(code, ErrorCode::T05RateLimited);
    assert_eq!(
        report.packets_rejected["T05"], 11,
        "max_retries 10, then stop"
    );
}

#[tokio::test]
async fn t04_is_waited_out_only_while_the_timeout_lasts() {
    let path = FakePath::new(Script {
        temporary: Some((ErrorCode::T04InsufficientLiquidity, u32::MAX)),
        ..Script::default()
    });
    let options = PaymentOptions {
        timeout: Duration::from_millis(150),
        ..quick()
    };
    let outcome = pay(&path, &destination(), Amount::Source(100), &options).await;
    let Err(PaymentError::TimedOut {
        last_reject,
        report,
    }) = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(last_reject, Some(ErrorCode::T04InsufficientLiquidity));
    // Far more than max_retries: T04 is not counted against them.
    assert!(report.packets_rejected["T04"] > 11, "{report:?}");
    assert!(report.duration >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_failed_link_stops_the_payment_and_leaves_the_amount_in_doubt() {
    let path = FakePath::new(Script {
        max_packet: Some(100),
        link_fails: true,
        ..Script::default()
    });
    let outcome = pay_on(&path, Amount::Source(1_000)).await;
    let Err(PaymentError::Link { report, .. }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(report.source_amount_sent, 0);
    // The first window of packets was in flight; none is sent again.
    assert_eq!(report.source_amount_in_doubt, 400);
}

#[tokio::test]
async fn a_receiver_that_closes_stops_the_payment_after_counting_its_packet() {
    let path = FakePath::new(Script {
        max_packet: Some(100),
        close_on_fulfill: Some(1),
        ..Script::default()
    });
    let outcome = pay_on(&path, Amount::Source(1_000)).await;
    let Err(PaymentError::ReceiverClosed { report }) = outcome else {
        panic!("{outcome:?}")
    };
    // The packets in flight with the closing one may still have been fulfilled.
    assert!(report.packets_fulfilled >= 1);
    assert_eq!(
        report.source_amount_sent,
        path.script().fulfilled.iter().sum::<u64>()
    );
    assert!(report.source_amount_sent < 1_000);
    // No close packet after the receiver closed.
    assert_eq!(path.script().closes, 0);
}

#[tokio::test]
async fn a_delivery_pays_what_the_rate_needs_rounded_up() {
    let path = FakePath::new(Script {
        rate: Ratio::new(91, 100).unwrap(),
        max_packet: Some(100),
        ..Script::default()
    });
    let report = pay_on(&path, Amount::Delivered(1_000)).await.unwrap();
    assert!(report.amount_delivered >= 1_000, "{report:?}");
    // Packets of 100 deliver 91 each: 11 of them deliver 1001, and no packet is sent once
    // enough is on its way.
    assert_eq!(
        report.amount_delivered,
        path.script()
            .fulfilled
            .iter()
            .map(|a| a * 91 / 100)
            .sum::<u64>()
    );
    assert!(report.source_amount_sent <= 1_111, "{report:?}");
}

#[tokio::test]
async fn zero_amounts_and_bad_options_are_refused_before_anything_is_sent() {
    let path = FakePath::new(Script::default());
    assert_eq!(
        pay_on(&path, Amount::Source(0)).await,
        Err(PaymentError::Invalid("the amount is 0"))
    );
    let options = PaymentOptions {
        slippage: Ratio::percent(101),
        ..quick()
    };
    assert!(matches!(
        pay(&path, &destination(), Amount::Source(1), &options).await,
        Err(PaymentError::Invalid(_))
    ));
    assert!(path.script().probes.is_empty());
}

#[tokio::test]
async fn huge_amounts_never_overflow() {
    let path = FakePath::new(Script {
        max_packet: Some(u64::MAX / 4),
        ..Script::default()
    });
    let report = pay_on(&path, Amount::Source(u64::MAX)).await.unwrap();
    assert_eq!(report.source_amount_sent, u64::MAX);
    assert_eq!(report.amount_delivered, u64::MAX);
    // Four of u64::MAX / 4, and the remaining 3.
    assert_eq!(path.script().fulfilled.len(), 5);
}
