//! The auto-peering wire (reference/rafiki.md §3): the request an instance sends to peer by URL,
//! the answer, and the errors with their HTTP status, message and type.

use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

/// The asset of the peering relationship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRef {
    pub code: String,
    pub scale: u8,
}

/// What the initiating instance sends (Rafiki's `PeeringRequestArgs`). `ilpConnectorAddress` is
/// the name Rafiki used before v1.0.0-alpha.14.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeeringRequest {
    pub static_ilp_address: String,
    #[serde(alias = "ilpConnectorAddress")]
    pub ilp_connector_url: String,
    pub asset: AssetRef,
    /// The token the initiator will present on its packets.
    pub http_token: String,
    #[serde(default, deserialize_with = "optional_amount")]
    pub max_packet_amount: Option<u64>,
    #[serde(default)]
    pub name: Option<String>,
}

/// The accepting instance's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeeringResponse {
    pub static_ilp_address: String,
    pub ilp_connector_url: String,
    /// The token the acceptor will present on its packets.
    pub http_token: String,
    pub name: String,
}

/// `maxPacketAmount` as Rafiki sends it: a JSON number, or null when unset; a string of digits
/// is taken too.
fn optional_amount<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("maxPacketAmount must be an unsigned integer")),
        Some(serde_json::Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("maxPacketAmount must be an unsigned integer")),
        Some(_) => Err(serde::de::Error::custom("maxPacketAmount must be a number")),
    }
}

/// Rafiki's `AutoPeeringError`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AutoPeeringError {
    /// The peer found this instance's ILP configuration unusable.
    #[error("The ILP configuration is misconfigured")]
    InvalidIlpConfiguration,
    /// The requester's ILP address or connector URL is unusable.
    #[error("Requested peer's ILP configuration is misconfigured")]
    InvalidPeerIlpConfiguration,
    #[error("Unknown asset")]
    UnknownAsset,
    #[error("Peer does not support asset")]
    PeerUnsupportedAsset,
    #[error("Peer URL is invalid or peer does not support auto-peering")]
    InvalidPeerUrl,
    #[error("Invalid peering request")]
    InvalidPeeringRequest,
    #[error("Could not deposit liquidity to peer")]
    LiquidityError,
}

impl AutoPeeringError {
    /// The name in the `type` field of the error body.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::InvalidIlpConfiguration => "InvalidIlpConfiguration",
            Self::InvalidPeerIlpConfiguration => "InvalidPeerIlpConfiguration",
            Self::UnknownAsset => "UnknownAsset",
            Self::PeerUnsupportedAsset => "PeerUnsupportedAsset",
            Self::InvalidPeerUrl => "InvalidPeerUrl",
            Self::InvalidPeeringRequest => "InvalidPeeringRequest",
            Self::LiquidityError => "LiquidityError",
        }
    }

    /// The HTTP status the accepting server answers with (and the seed era's payload `code`).
    pub fn status(self) -> u16 {
        match self {
            Self::UnknownAsset => 404,
            _ => 400,
        }
    }

    /// `{"error": {"code", "message", "type"}}`.
    pub fn body(self) -> serde_json::Value {
        serde_json::json!({
            "error": { "code": self.status(), "message": self.to_string(), "type": self.type_name() }
        })
    }

    /// The error named by an answer's `type`, as the initiator reads it.
    pub fn from_type_name(name: &str) -> Option<Self> {
        [
            Self::InvalidIlpConfiguration,
            Self::InvalidPeerIlpConfiguration,
            Self::UnknownAsset,
            Self::PeerUnsupportedAsset,
            Self::InvalidPeerUrl,
            Self::InvalidPeeringRequest,
            Self::LiquidityError,
        ]
        .into_iter()
        .find(|e| e.type_name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_accept_both_connector_field_names_and_loose_amounts() {
        let new: PeeringRequest = serde_json::from_str(
            r#"{"staticIlpAddress":"test.a","ilpConnectorUrl":"http://a:3002","asset":{"code":"USD","scale":2},"httpToken":"t","maxPacketAmount":1000,"name":"A"}"#,
        )
        .unwrap();
        assert_eq!(new.max_packet_amount, Some(1000));
        let old: PeeringRequest = serde_json::from_str(
            r#"{"staticIlpAddress":"test.a","ilpConnectorAddress":"http://a:3002","asset":{"code":"USD","scale":2},"httpToken":"t","maxPacketAmount":null}"#,
        )
        .unwrap();
        assert_eq!(old.ilp_connector_url, "http://a:3002");
        assert_eq!((old.max_packet_amount, old.name), (None, None));
        assert!(
            serde_json::from_str::<PeeringRequest>(r#"{"staticIlpAddress":"test.a"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<PeeringRequest>(
                r#"{"staticIlpAddress":"test.a","ilpConnectorUrl":"x","asset":{"code":"USD","scale":2},"httpToken":"t","maxPacketAmount":-1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn error_bodies_follow_rafiki() {
        assert_eq!(
            AutoPeeringError::UnknownAsset.body(),
            serde_json::json!({"error": {"code": 404, "message": "Unknown asset", "type": "UnknownAsset"}})
        );
        assert_eq!(
            AutoPeeringError::from_type_name("InvalidPeerIlpConfiguration"),
            Some(AutoPeeringError::InvalidPeerIlpConfiguration)
        );
        assert_eq!(AutoPeeringError::from_type_name("Nope"), None);
    }
}
