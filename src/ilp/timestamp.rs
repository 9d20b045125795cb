//! ILP's fixed-length timestamps: exactly 17 ASCII digits `YYYYMMDDHHmmssfff`, UTC
//! (RFC 0030 "Fixed-length Timestamps"). Not the `...ss.fffZ` form BTP uses.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use thiserror::Error;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Bytes of an encoded timestamp.
pub const TIMESTAMP_LENGTH: usize = 17;

/// Why 17 bytes are not a valid ILP timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TimestampError {
    #[error("timestamp must be 17 ASCII digits (YYYYMMDDHHmmssfff)")]
    NotDigits,
    #[error("timestamp is not a real UTC date and time")]
    InvalidDate,
    #[error("timestamp is outside the years 0000 to 9999")]
    OutOfRange,
}

/// A UTC instant with millisecond precision, as carried in a Prepare's `expiresAt`.
///
/// Stored as milliseconds since the Unix epoch so that comparisons and arithmetic are plain
/// integer operations on the packet path.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in Unix milliseconds.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch, if it has a 4-digit year.
    pub fn from_unix_millis(millis: i64) -> Result<Self, TimestampError> {
        if (MIN_MILLIS..=MAX_MILLIS).contains(&millis) {
            Ok(Self(millis))
        } else {
            Err(TimestampError::OutOfRange)
        }
    }

    pub fn unix_millis(self) -> i64 {
        self.0
    }

    /// The current wall-clock time, truncated to milliseconds.
    pub fn now() -> Self {
        Self::from_system_time(crate::clock::now())
    }

    /// The current time on one instance's clock (skewed when a fault skews it).
    pub fn now_on(clock: &crate::clock::Clock) -> Self {
        Self::from_system_time(clock.now())
    }

    pub fn from_system_time(at: SystemTime) -> Self {
        let millis = match at.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_millis())
                .map(|m| -m)
                .unwrap_or(i64::MIN),
        };
        Self(millis.clamp(MIN_MILLIS, MAX_MILLIS))
    }

    /// `self + duration`, saturating at the representable range.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(millis).min(MAX_MILLIS))
    }

    /// `self - duration`, saturating at the representable range.
    pub fn saturating_sub(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(millis).max(MIN_MILLIS))
    }

    /// Time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        u64::try_from(self.0.saturating_sub(earlier.0))
            .map(Duration::from_millis)
            .unwrap_or(Duration::ZERO)
    }

    /// Parses the 17-digit wire form, rejecting dates that do not exist (month 13, 24:00,
    /// leap second 60) as RFC 0030 requires.
    pub fn decode(bytes: &[u8; TIMESTAMP_LENGTH]) -> Result<Self, TimestampError> {
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(TimestampError::NotDigits);
        }
        let number = |range: std::ops::Range<usize>| {
            bytes[range]
                .iter()
                .fold(0u32, |acc, digit| acc * 10 + u32::from(digit - b'0'))
        };
        let invalid = |_| TimestampError::InvalidDate;
        // Every field below is at most 4 decimal digits, so the narrowing casts cannot truncate.
        let month = Month::try_from(number(4..6) as u8).map_err(invalid)?;
        let date = Date::from_calendar_date(number(0..4) as i32, month, number(6..8) as u8)
            .map_err(invalid)?;
        let time = Time::from_hms_milli(
            number(8..10) as u8,
            number(10..12) as u8,
            number(12..14) as u8,
            number(14..17) as u16,
        )
        .map_err(invalid)?;
        let nanos = PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp_nanos();
        // Years 0000..=9999 are always within i64 milliseconds.
        Self::from_unix_millis((nanos / 1_000_000) as i64)
    }

    /// The 17-digit wire form.
    pub fn encode(self) -> [u8; TIMESTAMP_LENGTH] {
        // The constructor keeps the value inside years 0000..=9999, which `time` represents.
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let mut out = [b'0'; TIMESTAMP_LENGTH];
        let mut put = |start: usize, width: usize, mut value: u32| {
            for slot in out[start..start + width].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, at.year().unsigned_abs());
        put(4, 2, u32::from(u8::from(at.month())));
        put(6, 2, u32::from(at.day()));
        put(8, 2, u32::from(at.hour()));
        put(10, 2, u32::from(at.minute()));
        put(12, 2, u32::from(at.second()));
        put(14, 3, u32::from(at.millisecond()));
        out
    }
}

impl Timestamp {
    /// The form JavaScript's `Date.prototype.toISOString` gives for years 0000 to 9999,
    /// `YYYY-MM-DDTHH:mm:ss.sssZ`: Rafiki's R02 messages carry timestamps this way.
    pub fn to_iso_string(self) -> String {
        let digits = self.encode();
        // `encode` only ever writes ASCII digits.
        let part =
            |range: std::ops::Range<usize>| std::str::from_utf8(&digits[range]).unwrap_or("?");
        format!(
            "{}-{}-{}T{}:{}:{}.{}Z",
            part(0..4),
            part(4..6),
            part(6..8),
            part(8..10),
            part(10..12),
            part(12..14),
            part(14..17)
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.encode();
        // `encode` only ever writes ASCII digits.
        f.write_str(std::str::from_utf8(&digits).unwrap_or("?"))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<Timestamp, TimestampError> {
        let bytes: [u8; TIMESTAMP_LENGTH] = text.as_bytes().try_into().expect("17 bytes");
        Timestamp::decode(&bytes)
    }

    #[test]
    fn iso_strings_are_javascripts_to_iso_string() {
        // The two timestamps of ilp-connector's own R02 test (reference: rafiki.md §4.2).
        assert_eq!(
            decode("20150615235959999").unwrap().to_iso_string(),
            "2015-06-15T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(0).unwrap().to_iso_string(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn decodes_and_encodes_rfc_0030_valid_examples() {
        let at = decode("20171224161432279").unwrap();
        assert_eq!(at.unix_millis(), 1_514_132_072_279);
        for valid in [
            "20171224161432279",
            "20171225000000000",
            "99991224161432279",
        ] {
            let at = decode(valid).unwrap();
            assert_eq!(&at.encode(), valid.as_bytes());
        }
    }

    #[test]
    fn rejects_rfc_0030_invalid_examples_of_the_right_length() {
        assert_eq!(
            decode("20171324161432200"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(
            decode("20171224240000000"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(
            decode("20161231235960852"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(
            decode("20170230120000000"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(decode("2017122421531243."), Err(TimestampError::NotDigits));
        assert_eq!(decode("+0171224161432279"), Err(TimestampError::NotDigits));
    }

    #[test]
    fn leap_day_and_extremes_round_trip() {
        for text in [
            "20240229235959999",
            "00000101000000000",
            "99991231235959999",
        ] {
            assert_eq!(&decode(text).unwrap().encode(), text.as_bytes());
        }
        assert_eq!(
            Timestamp::from_unix_millis(MAX_MILLIS + 1),
            Err(TimestampError::OutOfRange)
        );
    }

    #[test]
    fn arithmetic_saturates() {
        let at = decode("20171224161432279").unwrap();
        let later = at.saturating_add(Duration::from_millis(1500));
        assert_eq!(later.duration_since(at), Duration::from_millis(1500));
        assert_eq!(at.duration_since(later), Duration::ZERO);
        assert_eq!(later.saturating_sub(Duration::from_millis(1500)), at);
        let end = Timestamp::from_unix_millis(MAX_MILLIS).unwrap();
        assert_eq!(end.saturating_add(Duration::from_secs(10)), end);
    }
}
