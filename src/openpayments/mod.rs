//! Open Payments, as far as a sandbox needs it: each wallet address URL answers its Open
//! Payments document (and, once STREAM receiving is in, SPSP). Grant negotiation (GNAP) is out of
//! scope.

pub mod http;
pub mod incoming;
pub mod receiver;
