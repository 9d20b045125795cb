//! The rate probe: unfulfillable packets of growing sizes, as the JS sender sends them, each
//! answered F99 by the receiver with what arrived. The largest that arrived with something
//! gives the rate; an F08 on the way gives the largest packet the path takes.

use crate::clock::Instant;

use super::connection::{Answer, AssetDetails, Reaction};
use super::rate::{Ratio, max_packet_after_f08, source_for_delivery};
use super::{Amount, PacketLink, Payment, Stop, exchange};
use crate::ilp::ErrorCode;

/// The JS sender's probe sizes.
const PROBE_AMOUNTS: [u64; 5] = [1, 1_000, 1_000_000, 1_000_000_000, 1_000_000_000_000];

/// What the probe learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Probed {
    /// What arrived over what was sent, for the largest probe that arrived with something.
    pub rate: Ratio,
    /// The largest packet the path takes, when an F08 said so.
    pub max_packet: Option<u64>,
}

/// The largest probe worth sending: no more than the payment (a source amount, or what the
/// delivery needs at the rate seen so far), nor than the path takes.
fn probe_cap(amount: Amount, best: Option<(u64, u64)>, max_packet: Option<u64>) -> u64 {
    let payment = match amount {
        Amount::Source(total) => total,
        Amount::Delivered(delivery) => best
            .and_then(|(sent, arrived)| Ratio::new(arrived, sent))
            .and_then(|rate| source_for_delivery(delivery, rate))
            .unwrap_or(u64::MAX),
    };
    payment.min(max_packet.unwrap_or(u64::MAX))
}

impl<L: PacketLink + Clone + 'static> Payment<'_, L> {
    pub(super) async fn probe(
        &mut self,
        amount: Amount,
        own_asset: &AssetDetails,
    ) -> Result<Probed, Stop> {
        // (sent, arrived) of the largest probe that arrived with something.
        let mut best: Option<(u64, u64)> = None;
        let mut max_packet: Option<u64> = None;
        let mut largest_probed = 0;
        let mut retries = 0;
        'sizes: for listed in PROBE_AMOUNTS {
            loop {
                let size = listed.min(probe_cap(amount, best, max_packet));
                // Each probe is larger than the last; once the cap stops that, the rate is as
                // precise as this payment needs.
                if size <= largest_probed {
                    break 'sizes;
                }
                if Instant::now() >= self.deadline {
                    return Err(Stop::TimedOut(None));
                }
                let ask_for_asset = self.report.destination_asset.is_none().then_some(own_asset);
                let (sequence, prepare) = self
                    .connection
                    .probe(size, ask_for_asset)
                    .map_err(|error| Stop::Protocol(error.to_string()))?;
                self.report.probe_packets += 1;
                let reply = exchange(self.link, prepare, &self.options.clock)
                    .await
                    .map_err(Stop::Link)?;
                let (reject, reaction) = match self.connection.read(sequence, &reply, None) {
                    Answer::Rejected { reject, reaction } => (reject, reaction),
                    Answer::Fulfilled(_) | Answer::WrongFulfillment => {
                        return Err(Stop::Protocol(
                            "a probe with a random condition was fulfilled".to_owned(),
                        ));
                    }
                };
                match reaction {
                    Reaction::Receiver(answer) => {
                        if answer.closed {
                            return Err(Stop::ReceiverClosed);
                        }
                        if answer.asset.is_some() {
                            self.report.destination_asset = answer.asset;
                        }
                        if answer.arrived > 0 {
                            best = Some((size, answer.arrived));
                        }
                        largest_probed = size;
                        retries = 0;
                        continue 'sizes;
                    }
                    // Too small to convert into anything at some hop: try a larger one.
                    Reaction::Stop if reject.code == ErrorCode::R01InsufficientSourceAmount => {
                        largest_probed = size;
                        continue 'sizes;
                    }
                    Reaction::Shrink(data) => {
                        let max =
                            max_packet_after_f08(size, data).min(max_packet.unwrap_or(u64::MAX));
                        if max == 0 {
                            return Err(Stop::Rejected(reject));
                        }
                        // Probe again at the largest size that passes, if larger than any yet.
                        max_packet = Some(max);
                    }
                    Reaction::WaitForLiquidity | Reaction::Retry => {
                        // Larger probes would meet the same shortage; the rate seen is enough.
                        if best.is_some() {
                            break 'sizes;
                        }
                        if reaction == Reaction::Retry {
                            retries += 1;
                            if retries > self.options.max_retries {
                                return Err(Stop::Rejected(reject));
                            }
                        }
                        let delay = self.backoff.next_delay();
                        if !self.pause(delay).await {
                            return Err(Stop::TimedOut(Some(reject.code)));
                        }
                    }
                    Reaction::Stop => return Err(Stop::Rejected(reject)),
                }
            }
        }
        self.backoff.reset();
        let (sent, arrived) = best.ok_or(Stop::NoExchangeRate)?;
        let rate = Ratio::new(arrived, sent).ok_or(Stop::NoExchangeRate)?;
        self.report.exchange_rate = Some(rate);
        Ok(Probed { rate, max_packet })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_stop_at_the_source_amount_and_the_paths_maximum() {
        assert_eq!(probe_cap(Amount::Source(1000), None, None), 1000);
        assert_eq!(probe_cap(Amount::Source(1000), None, Some(100)), 100);
        assert_eq!(probe_cap(Amount::Source(u64::MAX), None, None), u64::MAX);
    }

    #[test]
    fn probes_for_a_delivery_stop_at_what_it_needs_at_the_rate_seen() {
        assert_eq!(probe_cap(Amount::Delivered(910), None, None), u64::MAX);
        assert_eq!(
            probe_cap(Amount::Delivered(910), Some((1000, 910)), None),
            1000
        );
        assert_eq!(
            probe_cap(Amount::Delivered(1000), Some((1000, 910)), Some(500)),
            500
        );
    }
}
