//! What acts on webhook events (recorded by [`crate::instance::events`]): the mock operator.

pub mod mock_operator;
