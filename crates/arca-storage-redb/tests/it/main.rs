//! Integration tests of the embedded backend: the shared conformance suite, file
//! handling and locking, and crash durability with a SIGKILLed child process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod crash;
mod file;
mod group;
