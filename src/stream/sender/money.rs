//! The money phase: packets sized to what is left and to the largest the path takes, several in
//! flight, each asking the receiver to accept no less than the probed rate less the slippage.
//!
//! Whatever stops the payment, the packets already in flight are waited for (each is bounded by
//! its expiry), so that the report counts every packet that was fulfilled.

use crate::clock::Instant;
use std::collections::HashMap;

use tokio::task::{Id, JoinSet};

use super::budget::{Budget, Goal};
use super::congestion::CongestionWindow;
use super::connection::{Answer, Reaction, SentPacket};
use super::probe::Probed;
use super::rate::{max_packet_after_f08, minimum_delivery, most_source_for_delivery};
use super::{Amount, LinkError, PacketLink, Payment, Stop, exchange};
use crate::ilp::{ErrorCode, Reply};

/// Packets in flight at first; the window grows by one per Fulfill.
const INITIAL_WINDOW: usize = 4;

/// The state of the money phase, apart from the payment's own.
struct Flow {
    budget: Budget,
    max_packet: u64,
    window: CongestionWindow,
    /// Set after a temporary reject: no packet leaves before then.
    paused_until: Option<Instant>,
    /// Temporary rejects other than T04 since the last Fulfill.
    retries: u32,
    last_reject: Option<ErrorCode>,
    /// The first reason to stop; packets in flight are still waited for.
    stop: Option<Stop>,
}

impl Flow {
    fn stop(&mut self, reason: Stop) {
        self.stop.get_or_insert(reason);
    }
}

impl<L: PacketLink + Clone + 'static> Payment<'_, L> {
    pub(super) async fn send_money(&mut self, amount: Amount, probed: Probed) -> Result<(), Stop> {
        let goal = match amount {
            Amount::Source(total) => Goal::Source(total),
            Amount::Delivered(delivery) => Goal::Delivery {
                amount: delivery,
                rate: probed.rate,
                // Only a 100% slippage has no bound: it accepts any rate.
                most_source: most_source_for_delivery(delivery, probed.rate, self.options.slippage)
                    .unwrap_or(u64::MAX),
            },
        };
        let mut flow = Flow {
            budget: Budget::new(goal),
            max_packet: probed.max_packet.unwrap_or(u64::MAX),
            window: CongestionWindow::new(INITIAL_WINDOW, self.options.max_in_flight),
            paused_until: None,
            retries: 0,
            last_reject: None,
            stop: None,
        };
        let mut in_flight: JoinSet<Result<Reply, LinkError>> = JoinSet::new();
        let mut packets: HashMap<Id, SentPacket> = HashMap::new();
        loop {
            let now = Instant::now();
            if flow.paused_until.is_some_and(|until| now >= until) {
                flow.paused_until = None;
            }
            if now >= self.deadline && !flow.budget.is_complete() {
                flow.stop(Stop::TimedOut(flow.last_reject));
            }
            if flow.stop.is_none() && flow.paused_until.is_none() {
                self.fill_window(&mut flow, probed, &mut in_flight, &mut packets);
            }
            if in_flight.is_empty() {
                if let Some(stop) = flow.stop {
                    return Err(stop);
                }
                if flow.budget.is_complete() {
                    return Ok(());
                }
                if let Some(until) = flow.paused_until {
                    tokio::time::sleep_until(until.min(self.deadline)).await;
                    continue;
                }
                // Nothing in flight, nothing left to send, and not done: only a delivery whose
                // slippage budget is spent ends here.
                return Err(match goal {
                    Goal::Delivery { amount, .. } => Stop::InsufficientDelivery(amount),
                    Goal::Source(_) => Stop::Protocol("nothing left to send".to_owned()),
                });
            }
            let joined = match flow.paused_until.filter(|_| flow.stop.is_none()) {
                // Paused with packets in flight: whichever comes first, a reply or the end of
                // the pause (when more may be sent).
                Some(until) => tokio::select! {
                    joined = in_flight.join_next_with_id() => joined,
                    () = tokio::time::sleep_until(until.min(self.deadline)) => continue,
                },
                None => in_flight.join_next_with_id().await,
            };
            let (id, result) = match joined {
                Some(Ok((id, result))) => (id, result),
                Some(Err(error)) => (
                    error.id(),
                    Err(LinkError::Transport(format!(
                        "the packet's task failed: {error}"
                    ))),
                ),
                None => continue,
            };
            if let Some(sent) = packets.remove(&id) {
                self.settle(&mut flow, sent, result);
                self.report.source_amount_sent = flow.budget.fulfilled();
                self.report.amount_delivered = flow.budget.delivered();
                self.report.source_amount_in_doubt = flow.budget.in_doubt();
            }
        }
    }

    /// Sends packets until the window is full or nothing is left to send.
    fn fill_window(
        &mut self,
        flow: &mut Flow,
        probed: Probed,
        in_flight: &mut JoinSet<Result<Reply, LinkError>>,
        packets: &mut HashMap<Id, SentPacket>,
    ) {
        while in_flight.len() < flow.window.size() {
            let size = flow.budget.next_packet(flow.max_packet);
            if size == 0 {
                return;
            }
            let minimum = minimum_delivery(size, probed.rate, self.options.slippage);
            let (sent, prepare) = match self.connection.money(size, minimum) {
                Ok(packet) => packet,
                Err(error) => return flow.stop(Stop::Protocol(error.to_string())),
            };
            if let Err(overflow) = flow.budget.send(size) {
                return flow.stop(overflow.into());
            }
            let link = self.link.clone();
            let clock = self.options.clock.clone();
            let task = in_flight.spawn(async move { exchange(&link, prepare, &clock).await });
            packets.insert(task.id(), sent);
        }
    }

    /// Counts a packet's outcome and decides what comes next.
    fn settle(&mut self, flow: &mut Flow, sent: SentPacket, result: Result<Reply, LinkError>) {
        let reply = match result {
            Ok(reply) => reply,
            Err(error) => {
                if let Err(overflow) = flow.budget.doubt(sent.amount) {
                    flow.stop(overflow.into());
                }
                return flow.stop(Stop::Link(error));
            }
        };
        match self
            .connection
            .read(sent.sequence, &reply, Some(&sent.condition))
        {
            Answer::Fulfilled(receiver) => {
                // Without a readable reply, the fulfillment still proves the receiver took the
                // packet, which it does only when at least the minimum arrived.
                let delivered = receiver
                    .as_ref()
                    .map_or(sent.minimum, |reply| reply.arrived);
                if let Err(overflow) = flow.budget.fulfill(sent.amount, delivered) {
                    flow.stop(overflow.into());
                }
                self.report.packets_fulfilled += 1;
                flow.window.on_fulfill();
                flow.retries = 0;
                self.backoff.reset();
                if receiver.is_some_and(|reply| reply.closed) && !flow.budget.is_complete() {
                    flow.stop(Stop::ReceiverClosed);
                }
            }
            Answer::WrongFulfillment => {
                if let Err(overflow) = flow.budget.doubt(sent.amount) {
                    flow.stop(overflow.into());
                }
                flow.stop(Stop::Protocol(
                    "a Fulfill whose fulfillment does not match the condition".to_owned(),
                ));
            }
            Answer::Rejected { reject, reaction } => {
                flow.budget.reject(sent.amount);
                *self
                    .report
                    .packets_rejected
                    .entry(reject.code.to_string())
                    .or_default() += 1;
                flow.last_reject = Some(reject.code);
                match reaction {
                    Reaction::Receiver(answer) if answer.closed => flow.stop(Stop::ReceiverClosed),
                    Reaction::Receiver(answer) if answer.arrived < sent.minimum => {
                        flow.stop(Stop::ExchangeRate {
                            sent: sent.amount,
                            minimum: sent.minimum,
                            arrived: answer.arrived,
                        });
                    }
                    Reaction::Shrink(data) => {
                        flow.max_packet =
                            flow.max_packet.min(max_packet_after_f08(sent.amount, data));
                        if flow.max_packet == 0 {
                            flow.stop(Stop::Rejected(reject));
                        }
                    }
                    Reaction::WaitForLiquidity => {
                        flow.window.on_temporary_reject();
                        self.pause_sending(flow);
                    }
                    Reaction::Retry => {
                        flow.window.on_temporary_reject();
                        flow.retries += 1;
                        if flow.retries > self.options.max_retries {
                            flow.stop(Stop::Rejected(reject));
                        } else {
                            self.pause_sending(flow);
                        }
                    }
                    // The receiver refused for another reason, or the path refused for good.
                    Reaction::Receiver(_) | Reaction::Stop => flow.stop(Stop::Rejected(reject)),
                }
            }
        }
    }

    /// No packet leaves for the next backoff delay. Rejects of packets that were in flight
    /// together make one pause, not one each: the delay doubles only when a pause ends and the
    /// path is still short.
    fn pause_sending(&mut self, flow: &mut Flow) {
        if flow.paused_until.is_none() {
            let delay = self.backoff.next_delay();
            let now = Instant::now();
            flow.paused_until = Some(now.checked_add(delay).unwrap_or(self.deadline));
        }
    }
}
