//! IL-DCP (RFC 0031): how a peer learns its ILP address and asset from its parent, by sending a
//! Prepare to `peer.config`.

use bytes::Bytes;
use thiserror::Error;

use super::address::{Address, AddressError};
use super::oer::{self, OerError, Reader};
use super::packet::{Fulfill, Prepare};
use super::timestamp::Timestamp;

/// Destination of every IL-DCP request.
pub const ILDCP_DESTINATION: &str = "peer.config";

/// Fulfillment of peer-protocol packets: 32 zero bytes.
pub const PEER_PROTOCOL_FULFILLMENT: [u8; 32] = [0; 32];

/// Condition of peer-protocol packets: SHA-256 of [`PEER_PROTOCOL_FULFILLMENT`].
pub const PEER_PROTOCOL_CONDITION: [u8; 32] = [
    0x66, 0x68, 0x7a, 0xad, 0xf8, 0x62, 0xbd, 0x77, 0x6c, 0x8f, 0xc1, 0x8b, 0x8e, 0x9f, 0x8e, 0x20,
    0x08, 0x97, 0x14, 0x85, 0x6e, 0xe2, 0x33, 0xb3, 0x90, 0x2a, 0x59, 0x1d, 0x0d, 0x5f, 0x29, 0x25,
];

/// Why a Fulfill's data is not an IL-DCP response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IldcpError {
    #[error("malformed IL-DCP response: {0}")]
    Oer(#[from] OerError),
    #[error("IL-DCP client address is invalid: {0}")]
    ClientAddress(#[from] AddressError),
    #[error("IL-DCP asset code is not valid UTF-8")]
    AssetCodeNotUtf8,
    #[error("IL-DCP asset code is {0} bytes; at most 255 are allowed")]
    AssetCodeTooLong(usize),
}

/// True for a Prepare that asks for this connector's configuration, by the same test
/// interledger-rs uses: the `peer.config` destination and the peer-protocol condition.
pub fn is_ildcp_request(prepare: &Prepare) -> bool {
    prepare.destination().as_str() == ILDCP_DESTINATION
        && prepare.execution_condition() == &PEER_PROTOCOL_CONDITION
}

/// Builds the request a child sends: amount 0, empty data.
pub fn ildcp_request(expires_at: Timestamp) -> Prepare {
    let destination = Address::parse(ILDCP_DESTINATION).unwrap_or_else(|_| unreachable!());
    Prepare::new(
        destination,
        0,
        expires_at,
        PEER_PROTOCOL_CONDITION,
        Bytes::new(),
    )
    .unwrap_or_else(|_| unreachable!("empty data is within limits"))
}

/// What the parent tells the child: its address and the asset of their account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IldcpResponse {
    client_address: Address,
    asset_scale: u8,
    asset_code: String,
}

impl IldcpResponse {
    pub fn new(
        client_address: Address,
        asset_scale: u8,
        asset_code: impl Into<String>,
    ) -> Result<Self, IldcpError> {
        let asset_code = asset_code.into();
        if asset_code.len() > 255 {
            return Err(IldcpError::AssetCodeTooLong(asset_code.len()));
        }
        Ok(Self {
            client_address,
            asset_scale,
            asset_code,
        })
    }

    pub fn client_address(&self) -> &Address {
        &self.client_address
    }

    pub fn asset_scale(&self) -> u8 {
        self.asset_scale
    }

    pub fn asset_code(&self) -> &str {
        &self.asset_code
    }

    /// The OER `DynamicConfigurationResponseData`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            oer::var_octets_size(self.client_address.as_bytes().len())
                + 1
                + oer::var_octets_size(self.asset_code.len()),
        );
        oer::write_var_octets(&mut out, self.client_address.as_bytes());
        out.push(self.asset_scale);
        oer::write_var_octets(&mut out, self.asset_code.as_bytes());
        out
    }

    pub fn decode(data: &[u8]) -> Result<Self, IldcpError> {
        let mut reader = Reader::new(data);
        let client_address = Address::from_bytes(reader.read_var_octets()?)?;
        let asset_scale = reader.read_u8()?;
        let code = reader.read_var_octets()?;
        let asset_code = std::str::from_utf8(code)
            .map_err(|_| IldcpError::AssetCodeNotUtf8)?
            .to_owned();
        Self::new(client_address, asset_scale, asset_code)
    }

    /// The Fulfill that answers an IL-DCP request.
    pub fn to_fulfill(&self) -> Fulfill {
        // The response is bounded by a 1023-byte address and a 255-byte code: within data limits.
        Fulfill::new(PEER_PROTOCOL_FULFILLMENT, self.encode())
            .unwrap_or_else(|_| unreachable!("IL-DCP data is within limits"))
    }

    pub fn from_fulfill(fulfill: &Fulfill) -> Result<Self, IldcpError> {
        Self::decode(fulfill.data())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilp::packet::condition_for;

    #[test]
    fn peer_protocol_condition_is_the_hash_of_zeros() {
        assert_eq!(
            condition_for(&PEER_PROTOCOL_FULFILLMENT),
            PEER_PROTOCOL_CONDITION
        );
    }

    #[test]
    fn requests_are_recognised_by_destination_and_condition() {
        let request = ildcp_request(Timestamp::now());
        assert!(is_ildcp_request(&request));
        let wrong_condition = Prepare::new(
            request.destination().clone(),
            0,
            request.expires_at(),
            [0; 32],
            Bytes::new(),
        )
        .unwrap();
        assert!(!is_ildcp_request(&wrong_condition));
    }

    #[test]
    fn responses_round_trip_through_a_fulfill() {
        let response =
            IldcpResponse::new(Address::parse("test.parent.child").unwrap(), 9, "USD").unwrap();
        let fulfill = response.to_fulfill();
        assert!(fulfill.matches(&PEER_PROTOCOL_CONDITION));
        assert_eq!(IldcpResponse::from_fulfill(&fulfill), Ok(response));
    }

    #[test]
    fn malformed_responses_are_typed_errors() {
        assert!(matches!(
            IldcpResponse::decode(&[]),
            Err(IldcpError::Oer(_))
        ));
        assert!(matches!(
            IldcpResponse::decode(&[1, b'x', 2, 0]),
            Err(IldcpError::ClientAddress(_))
        ));
        let mut bad_code = vec![3, b'g', b'.', b'a', 2, 1, 0xff];
        assert_eq!(
            IldcpResponse::decode(&bad_code),
            Err(IldcpError::AssetCodeNotUtf8)
        );
        bad_code.truncate(5);
        assert!(matches!(
            IldcpResponse::decode(&bad_code),
            Err(IldcpError::Oer(_))
        ));
    }
}
