//! Integration tests of the audit broker, its devices, the chain verifier and queries.
//! One binary for the crate, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod chain;
mod devices;
mod failclosed;
mod hmac;
mod query;
mod shape;
mod support;
mod workload;
