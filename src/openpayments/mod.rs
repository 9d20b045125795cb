//! Open Payments, as far as a sandbox needs it: each wallet address URL answers its Open
//! Payments document or SPSP, and each instance its incoming-payments resource. Grant negotiation
//! (GNAP) is out of scope.

pub mod http;
pub mod incoming;
