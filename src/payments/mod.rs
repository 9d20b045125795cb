//! Payments above the packet path: receivers (incoming payments here or at another Open Payments
//! server). Quotes and outgoing payments are to come.

pub mod receiver;
