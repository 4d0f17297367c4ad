//! Integration tests of the expiration manager, driven by a manual clock and a fake core.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod expiry;
mod register;
mod renew;
mod restart;
mod revoke;
mod support;
mod sys_api;
