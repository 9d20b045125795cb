//! Rafiki's custom scalars. `UInt64` takes a JSON number or a string of digits and is always
//! returned as a string (JavaScript cannot hold every u64 as a number); `UInt8` takes 0 to 255.
//! A value either refuses is the client's mistake: its error carries `extensions.code`
//! `BAD_USER_INPUT`, as Rafiki's scalars' errors do.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use serde::Serialize;

use super::outcome::ErrorCode;

/// A refused input value, with today's code for the client's mistakes.
fn refused<T: async_graphql::InputType>(reason: &str) -> InputValueError<T> {
    InputValueError::custom(reason).with_extension("code", ErrorCode::BadUserInput.as_str())
}

/// An unsigned 64-bit amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UInt64(pub u64);

#[Scalar(name = "UInt64")]
impl ScalarType for UInt64 {
    fn parse(value: Value) -> InputValueResult<Self> {
        let parsed = match &value {
            Value::Number(number) => {
                if let Some(n) = number.as_u64() {
                    return Ok(UInt64(n));
                }
                match number.as_f64() {
                    Some(f) if f < 0.0 => Err("Input must be unsigned."),
                    Some(f) if f.fract() != 0.0 => Err("Input must be a whole number."),
                    _ => Err("Input is larger than the UInt64 maximum 18446744073709551615."),
                }
            }
            Value::String(text) => parse_digits(text.trim()),
            _ => Err("Input must be a number or a string of digits."),
        };
        parsed.map(UInt64).map_err(refused)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

fn parse_digits(text: &str) -> Result<u64, &'static str> {
    if text.starts_with('-') {
        return Err("Input must be unsigned.");
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Input must be a number or a string of digits.");
    }
    text.parse::<u64>()
        .map_err(|_| "Input is larger than the UInt64 maximum 18446744073709551615.")
}

/// An unsigned 8-bit number, such as an asset's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UInt8(pub u8);

#[Scalar(name = "UInt8")]
impl ScalarType for UInt8 {
    fn parse(value: Value) -> InputValueResult<Self> {
        let n = match &value {
            Value::Number(number) => number.as_u64(),
            Value::String(text) if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
            _ => None,
        };
        n.and_then(|n| u8::try_from(n).ok())
            .map(UInt8)
            .ok_or_else(|| refused("Provided value is not a UInt8."))
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// Rafiki's `JSONObject`: any JSON object (metadata).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonObject(pub serde_json::Value);

#[Scalar(name = "JSONObject")]
impl ScalarType for JsonObject {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value.into_json() {
            Ok(json) if json.is_object() => Ok(JsonObject(json)),
            _ => Err(refused("Value is not a JSON object.")),
        }
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        Value::from_json(serde_json::from_str(text).unwrap()).unwrap()
    }

    #[test]
    fn uint64_accepts_numbers_and_strings_and_returns_strings() {
        assert_eq!(UInt64::parse(json("10000")).ok(), Some(UInt64(10_000)));
        assert_eq!(UInt64::parse(json("\"10000\"")).ok(), Some(UInt64(10_000)));
        assert_eq!(
            UInt64::parse(json("\"18446744073709551615\"")).ok(),
            Some(UInt64(u64::MAX))
        );
        assert_eq!(UInt64(7).to_value(), Value::String("7".into()));
    }

    #[test]
    fn uint64_refuses_negative_fractional_and_too_large() {
        for bad in [
            "-1",
            "\"-1\"",
            "1.5",
            "18446744073709551616",
            "\"18446744073709551616\"",
            "\"\"",
            "\"12abc\"",
            "true",
            "null",
        ] {
            assert!(UInt64::parse(json(bad)).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn uint8_is_checked() {
        assert_eq!(UInt8::parse(json("2")).ok(), Some(UInt8(2)));
        assert_eq!(UInt8::parse(json("\"255\"")).ok(), Some(UInt8(255)));
        for bad in ["256", "-1", "\"x\"", "2.5"] {
            assert!(UInt8::parse(json(bad)).is_err(), "{bad} should be refused");
        }
    }
}
