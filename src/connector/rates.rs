//! Exchange rates for packets that leave through a peer in another asset than they came in:
//! where rates come from (a table given at start, or Rafiki's `EXCHANGE_RATES_URL`) and how an
//! amount converts.
//!
//! As in Rafiki (`rates/service.ts`, `rates/util.ts`): assets with the same code and scale need no
//! rate; the same code at another scale converts at 1; otherwise the rate is `rates[destination]`
//! of the rates whose base is the source asset's code, and the amount is
//! `floor(amount * rate * 10^(destination scale - source scale))`. peerlab computes that in exact
//! decimal arithmetic where Rafiki uses floating point (`0.29 * 100` is 29 here, 28 there).

use crate::clock::Instant;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use thiserror::Error;

/// Rafiki's `EXCHANGE_RATES_LIFETIME` default: fetched rates are used this long.
pub const DEFAULT_RATES_LIFETIME: Duration = Duration::from_secs(15);
/// Rafiki's request timeout for the rates endpoint.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A rates document larger than this is refused.
const MAX_RATES_DOCUMENT: usize = 1 << 20;

/// An asset as a rate sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetUnit<'a> {
    pub code: &'a str,
    pub scale: u8,
}

/// Why an amount could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConversionError {
    /// No usable rate for the pair: Rafiki's `InvalidDestinationPrice`.
    #[error("InvalidDestinationPrice")]
    NoRate,
    /// The rates could not be fetched; the detail is for the log.
    #[error("could not fetch rates: {0}")]
    Unavailable(String),
    /// The converted amount is above `u64::MAX`; `maximum` is the largest source amount that
    /// converts.
    #[error("converted amount too large; at most {maximum} converts")]
    TooLarge { maximum: u64 },
}

/// Rates relative to one base asset code, in Rafiki's format: `{"base": "USD", "rates":
/// {"EUR": 0.91}}` (one unit of the base is worth 0.91 EUR).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateTable {
    base: String,
    rates: HashMap<String, Decimal>,
}

/// The JSON document, with rates kept as written so that `0.91` is exactly 0.91.
#[derive(Deserialize)]
struct RatesDocument {
    base: String,
    rates: HashMap<String, serde_json::Number>,
}

/// A rates document that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RateTableError {
    #[error("not a rates document ({{\"base\": CODE, \"rates\": {{CODE: NUMBER}}}}): {0}")]
    Malformed(String),
    #[error("rate for {code} is {value}; rates must be positive decimal numbers")]
    InvalidRate { code: String, value: String },
}

impl RateTable {
    /// `base` and its rates; every rate must be positive.
    pub fn new(
        base: &str,
        rates: impl IntoIterator<Item = (String, Decimal)>,
    ) -> Result<Self, RateTableError> {
        let rates: HashMap<String, Decimal> = rates.into_iter().collect();
        if let Some((code, value)) = rates.iter().find(|(_, rate)| **rate <= Decimal::ZERO) {
            return Err(RateTableError::InvalidRate {
                code: code.clone(),
                value: value.to_string(),
            });
        }
        Ok(Self {
            base: base.to_owned(),
            rates,
        })
    }

    /// `base` and rates given as numbers (a topology file's); each is taken as the decimal it
    /// prints as, so `0.91` is exactly 0.91.
    pub fn from_numbers(
        base: &str,
        rates: impl IntoIterator<Item = (String, f64)>,
    ) -> Result<Self, RateTableError> {
        let mut exact = HashMap::new();
        for (code, number) in rates {
            let text = number.to_string();
            let rate = parse_decimal(&text)
                .filter(|_| number.is_finite())
                .ok_or_else(|| RateTableError::InvalidRate {
                    code: code.clone(),
                    value: text,
                })?;
            exact.insert(code, rate);
        }
        Self::new(base, exact)
    }

    /// Parses Rafiki's JSON rates document.
    pub fn from_json(json: &[u8]) -> Result<Self, RateTableError> {
        let document: RatesDocument = serde_json::from_slice(json)
            .map_err(|error| RateTableError::Malformed(error.to_string()))?;
        let mut rates = HashMap::with_capacity(document.rates.len());
        for (code, number) in document.rates {
            let text = number.to_string();
            let rate = parse_decimal(&text).ok_or_else(|| RateTableError::InvalidRate {
                code: code.clone(),
                value: text.clone(),
            })?;
            rates.insert(code, rate);
        }
        Self::new(&document.base, rates)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// How many units of `to` one unit of `from` is worth: through the base when neither is it.
    pub fn rate(&self, from: &str, to: &str) -> Option<Decimal> {
        let against_base = |code: &str| {
            if code == self.base {
                Some(Decimal::ONE)
            } else {
                self.rates.get(code).copied()
            }
        };
        against_base(to)?.checked_div(against_base(from)?)
    }
}

/// A JSON number's text as an exact decimal (`0.91`, `2`, `1e-7`).
fn parse_decimal(text: &str) -> Option<Decimal> {
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

/// `floor(amount * rate * 10^(to_scale - from_scale))`, exactly.
pub fn convert(
    amount: u64,
    rate: Decimal,
    from_scale: u8,
    to_scale: u8,
) -> Result<u64, ConversionError> {
    if rate <= Decimal::ZERO {
        return Err(ConversionError::NoRate);
    }
    let scaled_rate = scale_rate(rate, i32::from(to_scale) - i32::from(from_scale))
        .ok_or(ConversionError::NoRate)?;
    let too_large = || ConversionError::TooLarge {
        maximum: largest_convertible(scaled_rate),
    };
    Decimal::from(amount)
        .checked_mul(scaled_rate)
        .ok_or_else(too_large)?
        .floor()
        .to_u64()
        .ok_or_else(too_large)
}

/// `rate * 10^exponent`, or `None` when that is not representable (a scale gap beyond what any
/// real pair of assets has).
fn scale_rate(rate: Decimal, exponent: i32) -> Option<Decimal> {
    let power = 10i128
        .checked_pow(exponent.unsigned_abs())
        .and_then(|power| Decimal::try_from_i128_with_scale(power, 0).ok())?;
    if exponent >= 0 {
        rate.checked_mul(power)
    } else {
        rate.checked_div(power)
    }
}

/// The largest amount whose conversion at `scaled_rate` stays within `u64`.
fn largest_convertible(scaled_rate: Decimal) -> u64 {
    Decimal::from(u64::MAX)
        .checked_div(scaled_rate)
        .and_then(|maximum| maximum.floor().to_u64())
        .unwrap_or(u64::MAX)
}

/// Where an instance's rates come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RateSource {
    /// No rates: only same-code pairs convert (Rafiki without `EXCHANGE_RATES_URL`).
    #[default]
    None,
    /// A fixed table, given at start (topology files, tests).
    Table(RateTable),
    /// Rafiki's `EXCHANGE_RATES_URL`: `GET <url>?base=<code>`, each answer used for `lifetime`.
    Url { url: String, lifetime: Duration },
}

/// An instance's exchange rates, fetched and cached as Rafiki does when they come from a URL.
#[derive(Debug, Clone, Default)]
pub struct ExchangeRates {
    source: RateSource,
    fetched: Arc<Mutex<HashMap<String, Fetched>>>,
    /// One fetch per base at a time: packets that find the rates stale together wait for the
    /// same answer instead of each asking (Rafiki shares the in-progress request the same way).
    fetching: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

#[derive(Debug, Clone)]
struct Fetched {
    table: Arc<RateTable>,
    at: Instant,
}

impl ExchangeRates {
    pub fn new(source: RateSource) -> Self {
        Self {
            source,
            fetched: Arc::default(),
            fetching: Arc::default(),
        }
    }

    /// Converts `amount` of `from` into `to`.
    pub async fn convert(
        &self,
        amount: u64,
        from: AssetUnit<'_>,
        to: AssetUnit<'_>,
    ) -> Result<u64, ConversionError> {
        if from.code == to.code {
            return convert(amount, Decimal::ONE, from.scale, to.scale);
        }
        let rate = match &self.source {
            RateSource::None => None,
            RateSource::Table(table) => table.rate(from.code, to.code),
            RateSource::Url { url, lifetime } => self
                .fetch(url, from.code, *lifetime)
                .await?
                .rate(from.code, to.code),
        };
        convert(
            amount,
            rate.ok_or(ConversionError::NoRate)?,
            from.scale,
            to.scale,
        )
    }

    /// The rates whose base is `base`, from the cache while they are fresh.
    async fn fetch(
        &self,
        url: &str,
        base: &str,
        lifetime: Duration,
    ) -> Result<Arc<RateTable>, ConversionError> {
        let fresh = |rates: &Self| {
            rates
                .cached()
                .get(base)
                .filter(|fetched| fetched.at.elapsed() < lifetime)
                .map(|fetched| fetched.table.clone())
        };
        if let Some(table) = fresh(self) {
            return Ok(table);
        }
        let turn = self
            .fetching
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(base.to_owned())
            .or_default()
            .clone();
        let _turn = turn.lock().await;
        // Another packet may have fetched them while this one waited.
        if let Some(table) = fresh(self) {
            return Ok(table);
        }
        let table = Arc::new(
            fetch_rates(url, base)
                .await
                .map_err(ConversionError::Unavailable)?,
        );
        let mut cached = self.cached();
        // Bases are asset codes this instance has; stale ones are dropped as new ones come.
        cached.retain(|_, fetched| fetched.at.elapsed() < lifetime);
        cached.insert(
            base.to_owned(),
            Fetched {
                table: table.clone(),
                at: Instant::now(),
            },
        );
        Ok(table)
    }

    fn cached(&self) -> MutexGuard<'_, HashMap<String, Fetched>> {
        // A cache: whatever a panicking holder left is still a valid cache.
        self.fetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `GET <url>?base=<base>` within Rafiki's 5 s; only an HTTP 200 with a rates document counts.
async fn fetch_rates(url: &str, base: &str) -> Result<RateTable, String> {
    let mut target = url::Url::parse(url).map_err(|error| format!("invalid URL {url}: {error}"))?;
    if target.scheme() != "http" {
        return Err(format!("{url}: only http URLs are supported"));
    }
    target.query_pairs_mut().append_pair("base", base);
    let host = target
        .host_str()
        .ok_or_else(|| format!("{url}: no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = target.port_or_known_default().unwrap_or(80);
    let authority = match target.port() {
        Some(port) => format!("{}:{port}", target.host_str().unwrap_or_default()),
        None => target.host_str().unwrap_or_default().to_owned(),
    };
    let path: Uri = target[url::Position::BeforePath..]
        .parse()
        .map_err(|error| format!("{url}: {error}"))?;
    let exchange = async {
        let stream = crate::net::connect(&host, port)
            .await
            .map_err(|error| format!("cannot connect to {url}: {error}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| format!("{url}: {error}"))?;
        tokio::spawn(connection);
        let request = Request::get(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|error| format!("{url}: {error}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| format!("{url}: {error}"))?;
        if response.status() != hyper::StatusCode::OK {
            return Err(format!(
                "{url} answered HTTP {}",
                response.status().as_u16()
            ));
        }
        Limited::new(response.into_body(), MAX_RATES_DOCUMENT)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|error| format!("{url}: unreadable answer: {error}"))
    };
    let body = tokio::time::timeout(FETCH_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{url}: no answer within {}s", FETCH_TIMEOUT.as_secs()))??;
    RateTable::from_json(&body).map_err(|error| format!("{url}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(text: &str) -> Decimal {
        parse_decimal(text).unwrap()
    }

    #[test]
    fn conversion_rounds_down_exactly() {
        assert_eq!(convert(1000, decimal("0.91"), 2, 2), Ok(910));
        assert_eq!(convert(999, decimal("0.91"), 2, 2), Ok(909));
        // Floating point makes this 28.999...; exact decimals do not.
        assert_eq!(convert(100, decimal("0.29"), 2, 2), Ok(29));
        assert_eq!(convert(1, decimal("0.5"), 0, 0), Ok(0));
    }

    #[test]
    fn scales_shift_the_amount() {
        assert_eq!(convert(123, Decimal::ONE, 2, 4), Ok(12_300));
        assert_eq!(convert(12_399, Decimal::ONE, 4, 2), Ok(123));
        assert_eq!(convert(5, decimal("2"), 0, 9), Ok(10_000_000_000));
        assert!(convert(1, Decimal::ONE, 0, 255).is_err());
    }

    #[test]
    fn an_amount_that_converts_beyond_u64_is_refused_with_the_largest_that_converts() {
        let Err(ConversionError::TooLarge { maximum }) = convert(u64::MAX, decimal("2"), 0, 0)
        else {
            panic!("u64::MAX at 2 must not convert");
        };
        assert_eq!(maximum, u64::MAX / 2);
        assert_eq!(convert(maximum, decimal("2"), 0, 0), Ok(u64::MAX - 1));
        assert_eq!(convert(u64::MAX, Decimal::ONE, 0, 0), Ok(u64::MAX));
    }

    #[test]
    fn rafikis_rates_document() {
        let table = RateTable::from_json(
            br#"{"base": "USD", "rates": {"EUR": 0.91, "JPY": 150, "XBT": 1e-5}}"#,
        )
        .unwrap();
        assert_eq!(table.rate("USD", "EUR"), Some(decimal("0.91")));
        assert_eq!(table.rate("USD", "XBT"), Some(decimal("0.00001")));
        assert_eq!(
            table.rate("EUR", "USD"),
            decimal("1").checked_div(decimal("0.91"))
        );
        // Across the base.
        assert_eq!(
            table.rate("JPY", "EUR"),
            decimal("0.91").checked_div(decimal("150"))
        );
        assert_eq!(table.rate("USD", "GBP"), None);
        for bad in [
            &br#"{"base": "USD", "rates": {"EUR": 0}}"#[..],
            br#"{"base": "USD", "rates": {"EUR": -1}}"#,
            br#"{"base": "USD", "rates": {"EUR": "0.9"}}"#,
            br#"{"rates": {}}"#,
            b"[]",
        ] {
            assert!(
                RateTable::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[tokio::test]
    async fn same_code_needs_no_rate_and_others_need_one() {
        let none = ExchangeRates::default();
        let usd2 = AssetUnit {
            code: "USD",
            scale: 2,
        };
        let usd4 = AssetUnit {
            code: "USD",
            scale: 4,
        };
        let eur2 = AssetUnit {
            code: "EUR",
            scale: 2,
        };
        assert_eq!(none.convert(7, usd2, usd4).await, Ok(700));
        assert_eq!(
            none.convert(7, usd2, eur2).await,
            Err(ConversionError::NoRate)
        );
        let table = ExchangeRates::new(RateSource::Table(
            RateTable::from_json(br#"{"base": "USD", "rates": {"EUR": 0.91}}"#).unwrap(),
        ));
        assert_eq!(table.convert(1000, usd2, eur2).await, Ok(910));
    }
}
