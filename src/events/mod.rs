//! What happens to webhook events after the instance records them: delivery to the operator's
//! `WEBHOOK_URL`, as Rafiki's webhook worker does it.

pub mod delivery;

pub use delivery::{DeliveryStats, WebhookDelivery, WebhookSettings, canonical_json, signature};
