//! Tests of the pure core through the public API: wire vectors, codec properties and the ledger
//! against a reference model. One binary, so everything links once.

mod codec_properties;
mod ledger_model;
mod packet_vectors;
mod stream_properties;
mod stream_vectors;

/// Proptest case count: `PROPTEST_CASES` when set, else `default`.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}
