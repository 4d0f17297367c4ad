//! Integration tests of the token store and the `auth/token/*` endpoints, against an
//! in-memory barrier view, a manual clock and recording hooks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accessors_tidy;
mod batch;
mod create;
mod login;
mod lookup;
mod renew;
mod revoke;
mod roles;
mod support;
mod uses_and_expiry;
