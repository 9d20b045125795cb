//! What acts on webhook events (recorded by [`crate::instance::events`]): delivery to the
//! operator's `WEBHOOK_URL`, as Rafiki's webhook worker does it, and the mock operator.

pub mod delivery;
pub mod mock_operator;

pub use delivery::{DeliveryStats, WebhookDelivery, WebhookSettings, canonical_json, signature};
