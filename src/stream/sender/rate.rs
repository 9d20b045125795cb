//! Exchange-rate and packet-size arithmetic, exact on integers: a rate is the ratio of two
//! amounts the sender saw (what arrived over what was sent), never a float.

use std::fmt;

use crate::ilp::AmountTooLargeData;

/// A non-negative rational number `numerator / denominator` of u64s (denominator above 0),
/// kept as given (a probe's 910/1000 stays that) and compared by value (910/1000 == 91/100).
#[derive(Debug, Clone, Copy)]
pub struct Ratio {
    numerator: u64,
    denominator: u64,
}

impl Ratio {
    /// `None` for a zero denominator.
    pub fn new(numerator: u64, denominator: u64) -> Option<Self> {
        (denominator > 0).then_some(Self {
            numerator,
            denominator,
        })
    }

    /// `percent / 100`.
    pub fn percent(percent: u64) -> Self {
        Self {
            numerator: percent,
            denominator: 100,
        }
    }

    pub fn numerator(self) -> u64 {
        self.numerator
    }

    pub fn denominator(self) -> u64 {
        self.denominator
    }

    /// Whether the ratio is at most 1 (a fraction of something, such as a slippage).
    pub fn is_at_most_one(self) -> bool {
        self.numerator <= self.denominator
    }

    /// For display only: money is never computed with it.
    pub fn to_f64(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }

    /// `floor(amount * self)`; `None` when that is beyond u64.
    pub fn mul_floor(self, amount: u64) -> Option<u64> {
        // The product of two u64 always fits in a u128.
        let product = u128::from(amount) * u128::from(self.numerator);
        u64::try_from(product / u128::from(self.denominator)).ok()
    }

    /// `ceil(amount / self)`: the least `x` with `x * self >= amount` (before any rounding down
    /// of `x * self`); `None` for a zero ratio or a result beyond u64.
    pub fn div_ceil(self, amount: u64) -> Option<u64> {
        if self.numerator == 0 {
            return None;
        }
        let product = u128::from(amount) * u128::from(self.denominator);
        u64::try_from(product.div_ceil(u128::from(self.numerator))).ok()
    }

    /// `1 - self`, for a ratio of at most 1.
    fn complement(self) -> Option<Self> {
        Some(Self {
            numerator: self.denominator.checked_sub(self.numerator)?,
            denominator: self.denominator,
        })
    }
}

impl PartialEq for Ratio {
    fn eq(&self, other: &Self) -> bool {
        u128::from(self.numerator) * u128::from(other.denominator)
            == u128::from(other.numerator) * u128::from(self.denominator)
    }
}

impl Eq for Ratio {}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// What a packet of `amount` must at least deliver for the receiver to accept it (its STREAM
/// `prepareAmount`): `floor(floor(amount * rate) * (1 - slippage))`. Rounding down twice is at
/// most one unit more lenient than rounding once, and never stricter, so a packet that
/// arrives at the probed rate is never refused for the arithmetic. Beyond u64 is u64::MAX: no
/// packet can deliver that, and the receiver then reports what arrived.
pub fn minimum_delivery(amount: u64, rate: Ratio, slippage: Ratio) -> u64 {
    // Below 2^128: the product of two u64.
    let at_rate = u128::from(amount) * u128::from(rate.numerator) / u128::from(rate.denominator);
    let Some(kept) = slippage.complement() else {
        // A slippage above 1 was refused up front; accept anything rather than panic.
        return 0;
    };
    // floor(x * n / d) = (x / d) * n + (x % d) * n / d, where the second product is below
    // d * n < 2^128; the first overflowing means the result is far beyond u64.
    let (quotient, remainder) = (
        at_rate / u128::from(kept.denominator),
        at_rate % u128::from(kept.denominator),
    );
    quotient
        .checked_mul(u128::from(kept.numerator))
        .and_then(|whole| {
            whole.checked_add(remainder * u128::from(kept.numerator) / u128::from(kept.denominator))
        })
        .and_then(|minimum| u64::try_from(minimum).ok())
        .unwrap_or(u64::MAX)
}

/// The source amount a payment of `delivery` needs at `rate`, rounded up: `ceil(delivery /
/// rate)`. `None` when the rate is zero or the amount beyond u64.
pub fn source_for_delivery(delivery: u64, rate: Ratio) -> Option<u64> {
    rate.div_ceil(delivery)
}

/// The most a payment of `delivery` may cost: what it needs at the worst rate the slippage
/// allows, `ceil(ceil(delivery / rate) / (1 - slippage))` (each rounding up only widens the
/// bound, by at most a unit). `None` when no amount can deliver it.
pub fn most_source_for_delivery(delivery: u64, rate: Ratio, slippage: Ratio) -> Option<u64> {
    let at_rate = rate.div_ceil(delivery)?;
    slippage.complement()?.div_ceil(at_rate)
}

/// The largest packet to send after `sent` was refused F08, as the JS sender computes it: with
/// the connector's figures (what it received, in its units, and the most it takes), scale the
/// packet down by their ratio, `floor(sent * maximum / received)`; without them (no data, or data
/// that do not say the packet was too large), one less than was sent.
pub fn max_packet_after_f08(sent: u64, data: Option<AmountTooLargeData>) -> u64 {
    match data {
        Some(AmountTooLargeData {
            received_amount,
            maximum_amount,
        }) if received_amount > maximum_amount => {
            // maximum < received, so the result is below `sent` and fits in u64.
            let scaled =
                u128::from(sent) * u128::from(maximum_amount) / u128::from(received_amount);
            u64::try_from(scaled).unwrap_or(0)
        }
        _ => sent.saturating_sub(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(numerator: u64, denominator: u64) -> Ratio {
        Ratio::new(numerator, denominator).unwrap()
    }

    #[test]
    fn ratios_need_a_denominator() {
        assert_eq!(Ratio::new(1, 0), None);
        assert_eq!(ratio(910, 1000).to_string(), "910/1000");
        assert!(Ratio::percent(100).is_at_most_one());
        assert!(!ratio(101, 100).is_at_most_one());
        assert_eq!(ratio(910, 1000), ratio(91, 100));
        assert_eq!(ratio(0, 5), ratio(0, 1));
        assert_ne!(ratio(910, 1000), ratio(909, 999));
    }

    #[test]
    fn multiplying_rounds_down_and_reports_overflow() {
        let eur = ratio(910, 1000);
        assert_eq!(eur.mul_floor(1000), Some(910));
        assert_eq!(eur.mul_floor(999), Some(909));
        assert_eq!(eur.mul_floor(1), Some(0));
        assert_eq!(ratio(2, 1).mul_floor(u64::MAX), None);
        assert_eq!(
            ratio(u64::MAX, u64::MAX).mul_floor(u64::MAX),
            Some(u64::MAX)
        );
    }

    #[test]
    fn dividing_rounds_up_and_refuses_a_zero_rate() {
        let eur = ratio(910, 1000);
        assert_eq!(eur.div_ceil(910), Some(1000));
        // 1000 / 0.91 = 1098.9..., and 1099 * 0.91 = 1000.09 delivers it.
        assert_eq!(eur.div_ceil(1000), Some(1099));
        assert_eq!(eur.mul_floor(1099), Some(1000));
        assert_eq!(eur.mul_floor(1098), Some(999));
        assert_eq!(ratio(0, 1).div_ceil(5), None);
        assert_eq!(ratio(1, 2).div_ceil(u64::MAX), None);
    }

    #[test]
    fn the_minimum_delivery_is_the_rate_less_the_slippage_rounded_down() {
        let one_percent = Ratio::percent(1);
        assert_eq!(minimum_delivery(1000, ratio(1, 1), one_percent), 990);
        assert_eq!(minimum_delivery(100, ratio(1, 1), one_percent), 99);
        // 1000 at 0.91 is 910; less 1% is 900.9.
        assert_eq!(minimum_delivery(1000, ratio(910, 1000), one_percent), 900);
        assert_eq!(minimum_delivery(1, ratio(910, 1000), one_percent), 0);
        assert_eq!(minimum_delivery(1000, ratio(1, 1), Ratio::percent(0)), 1000);
        assert_eq!(minimum_delivery(1000, ratio(1, 1), Ratio::percent(100)), 0);
        assert_eq!(
            minimum_delivery(u64::MAX, ratio(3, 1), one_percent),
            u64::MAX
        );
        // Beyond u64 at the rate, back within it after the slippage: exact, not saturated.
        let just_over = u64::MAX / 100 * 100 + 1;
        assert_eq!(
            minimum_delivery(just_over, ratio(101, 100), one_percent),
            // floor(just_over * 1.01) * 0.99, computed exactly.
            u64::try_from(u128::from(just_over) * 101 / 100 * 99 / 100).unwrap()
        );
    }

    #[test]
    fn a_delivery_costs_the_rounded_up_source_amount_and_at_most_that_over_the_slippage() {
        let eur = ratio(910, 1000);
        assert_eq!(source_for_delivery(910, eur), Some(1000));
        assert_eq!(source_for_delivery(500, eur), Some(550));
        // ceil(1000 / 0.99) = 1011 (1010.1...).
        assert_eq!(
            most_source_for_delivery(1000, ratio(1, 1), Ratio::percent(1)),
            Some(1011)
        );
        assert_eq!(
            most_source_for_delivery(1000, ratio(1, 1), Ratio::percent(0)),
            Some(1000)
        );
        assert_eq!(
            most_source_for_delivery(1000, ratio(1, 1), Ratio::percent(100)),
            None
        );
        assert_eq!(
            most_source_for_delivery(1, ratio(0, 1), Ratio::percent(1)),
            None
        );
    }

    #[test]
    fn after_f08_packets_shrink_by_the_connectors_ratio() {
        let data = |received_amount, maximum_amount| {
            Some(AmountTooLargeData {
                received_amount,
                maximum_amount,
            })
        };
        assert_eq!(max_packet_after_f08(1000, data(1000, 100)), 100);
        // The connector counts in another asset: 1000 USD arrived there as 910 EUR, at most 100
        // EUR pass, so 109 USD (99.19 EUR) is the largest packet.
        assert_eq!(max_packet_after_f08(1000, data(910, 100)), 109);
        assert_eq!(max_packet_after_f08(u64::MAX, data(u64::MAX, 1)), 1);
        assert_eq!(max_packet_after_f08(10, data(1000, 0)), 0);
        // Without usable data: one less.
        assert_eq!(max_packet_after_f08(1000, None), 999);
        assert_eq!(max_packet_after_f08(1000, data(100, 100)), 999);
        assert_eq!(max_packet_after_f08(1000, data(50, 100)), 999);
        assert_eq!(max_packet_after_f08(0, None), 0);
    }
}
