//! What the dashboard's forms accept, with Rafiki's dashboard's own messages (reference:
//! rafiki-payments-dashboard.md §4), and amounts between the asset's unit and its scale.

use std::collections::HashMap;

use crate::ilp::Address;

/// A submitted form's fields.
pub type Fields = HashMap<String, String>;

/// A field's value, trimmed; empty when absent.
pub fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map(|v| v.trim()).unwrap_or("")
}

/// Messages by field name, shown under each field.
#[derive(Debug, Default, Clone)]
pub struct Errors(pub HashMap<&'static str, String>);

impl Errors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub const INVALID_ADDRESS: &str = "The provided ILP Address is not valid.";
pub const INVALID_MAX_PACKET: &str = "Max packet amount is expected to be a number.";
pub const INVALID_ENDPOINT: &str = "Invalid outgoing HTTP endpoint URL.";
pub const INVALID_ASSET: &str = "Invalid asset.";
pub const NOT_POSITIVE: &str = "The amount should be a positive value";
/// Rafiki's spelling.
pub const SCALE_TOO_SMALL: &str = "The asset scale cannot accomodate this value";
pub const AMOUNT_INVALID: &str = "Amount is not valid. Please try again!";

pub fn check_address(errors: &mut Errors, name: &'static str, value: &str) {
    if Address::parse(value).is_err() {
        errors.add(name, INVALID_ADDRESS);
    }
}

/// An optional whole number (`maxPacketAmount`, thresholds): `None` when left empty.
pub fn optional_u64(
    errors: &mut Errors,
    name: &'static str,
    value: &str,
    message: &'static str,
) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    match value.parse::<u64>() {
        Ok(number) => Some(number),
        Err(_) => {
            errors.add(name, message);
            None
        }
    }
}

/// An http(s) URL with a host.
pub fn check_endpoint(errors: &mut Errors, name: &'static str, value: &str) {
    let valid = url::Url::parse(value)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
    if !valid {
        errors.add(name, INVALID_ENDPOINT);
    }
}

pub fn check_uuid(errors: &mut Errors, name: &'static str, value: &str, message: &'static str) {
    if uuid::Uuid::parse_str(value).is_err() {
        errors.add(name, message);
    }
}

/// An asset code as Rafiki's dashboard takes it: 3 to 6 letters, upper-cased.
pub fn asset_code(errors: &mut Errors, value: &str) -> String {
    let length = value.chars().count();
    if length < 3 {
        errors.add("code", "Code should be at least 3 characters long");
    } else if length > 6 {
        errors.add("code", "Maximum length of Code is 6 characters");
    } else if !value.chars().all(|c| c.is_ascii_alphabetic()) {
        errors.add("code", "Code should only contain letters.");
    }
    value.to_ascii_uppercase()
}

/// An asset scale: a whole number from 0 to 255.
pub fn asset_scale(errors: &mut Errors, value: &str) -> u8 {
    match value.parse::<i64>() {
        Ok(scale) if (0..=255).contains(&scale) => u8::try_from(scale).unwrap_or(0),
        Ok(_) => {
            errors.add("scale", "Scale should be from 0 to 255");
            0
        }
        Err(_) => {
            errors.add("scale", "Scale is expected to be a number.");
            0
        }
    }
}

/// An amount typed in the asset's unit ("12.34" USD) as the integer the API takes at `scale`
/// (1234), computed exactly on the digits (no floating point): Rafiki's dialog multiplies by
/// 10^scale and refuses what is negative or has more decimals than the scale holds.
pub fn amount_at_scale(typed: &str, scale: u8) -> Result<u64, &'static str> {
    let typed = typed.trim();
    if typed.starts_with('-') {
        return Err(NOT_POSITIVE);
    }
    let (whole, fraction) = typed.split_once('.').unwrap_or((typed, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(NOT_POSITIVE);
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(scale) {
        return Err(SCALE_TOO_SMALL);
    }
    let whole = whole.trim_start_matches('0');
    let mut text = String::with_capacity(whole.len() + usize::from(scale));
    text.push_str(whole);
    text.push_str(fraction);
    text.extend(std::iter::repeat_n(
        '0',
        usize::from(scale) - fraction.len(),
    ));
    let text = text.trim_start_matches('0');
    if text.is_empty() {
        return Err(NOT_POSITIVE);
    }
    text.parse::<u64>().map_err(|_| AMOUNT_INVALID)
}

/// An amount at `scale` in the asset's unit: 1234 at scale 2 is "12.34".
pub fn format_amount(value: u64, scale: u8) -> String {
    let digits = value.to_string();
    let scale = usize::from(scale);
    if scale == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{whole}.{fraction}")
}

/// A comma-separated list, each item trimmed, empty items dropped.
pub fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_scaled_exactly() {
        assert_eq!(amount_at_scale("12.34", 2), Ok(1234));
        assert_eq!(amount_at_scale("12.3", 2), Ok(1230));
        assert_eq!(amount_at_scale("12.340", 2), Ok(1234));
        assert_eq!(amount_at_scale("12", 0), Ok(12));
        assert_eq!(amount_at_scale(".5", 1), Ok(5));
        assert_eq!(amount_at_scale("0.001", 2), Err(SCALE_TOO_SMALL));
        assert_eq!(amount_at_scale("1.5", 0), Err(SCALE_TOO_SMALL));
        assert_eq!(amount_at_scale("-1", 2), Err(NOT_POSITIVE));
        assert_eq!(amount_at_scale("0", 2), Err(NOT_POSITIVE));
        assert_eq!(amount_at_scale("abc", 2), Err(NOT_POSITIVE));
        assert_eq!(amount_at_scale("1e3", 2), Err(NOT_POSITIVE));
        assert_eq!(amount_at_scale("", 2), Err(NOT_POSITIVE));
        assert_eq!(
            amount_at_scale("18446744073709551615", 0),
            Ok(18446744073709551615)
        );
        assert_eq!(
            amount_at_scale("18446744073709551616", 0),
            Err(AMOUNT_INVALID)
        );
        assert_eq!(amount_at_scale("1", 255), Err(AMOUNT_INVALID));
    }

    #[test]
    fn amounts_are_shown_in_the_assets_unit() {
        assert_eq!(format_amount(1234, 2), "12.34");
        assert_eq!(format_amount(5, 2), "0.05");
        assert_eq!(format_amount(0, 2), "0.00");
        assert_eq!(format_amount(7, 0), "7");
        for (value, scale) in [(1234u64, 2u8), (5, 9), (u64::MAX, 3)] {
            assert_eq!(
                amount_at_scale(&format_amount(value, scale), scale),
                Ok(value)
            );
        }
    }

    #[test]
    fn asset_codes_follow_rafikis_rules() {
        let mut errors = Errors::default();
        assert_eq!(asset_code(&mut errors, "usd"), "USD");
        assert!(errors.is_empty());
        for (code, message) in [
            ("US", "Code should be at least 3 characters long"),
            ("DOLLARS", "Maximum length of Code is 6 characters"),
            ("US1", "Code should only contain letters."),
        ] {
            let mut errors = Errors::default();
            asset_code(&mut errors, code);
            assert_eq!(errors.get("code"), Some(message), "{code}");
        }
    }
}
