//! End-to-end tests of the `arca` binary: a real process on an ephemeral port, driven
//! over HTTP. One integration binary for the crate (link time), one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit_cli;
mod audit_compat;
mod audit_e2e;
mod auth_bound_cidrs;
mod auth_cert;
mod auth_identity;
mod auth_jwt;
mod auth_methods;
mod auto_unseal;
mod bad_input;
mod cli;
mod compat_auth_hvac;
mod compat_common;
mod compat_database_hvac;
mod compat_eso;
mod compat_hvac;
mod compat_kv_cli;
mod compat_kv_hvac;
mod compat_lifecycle;
mod compat_policies;
mod compat_sops;
mod compat_sys;
mod compat_tokens;
mod compat_transit;
mod compat_transit_hvac;
mod compat_wrapping;
mod config;
mod database_cli;
mod database_faults;
mod database_mass_expiry;
mod database_policies;
mod database_support;
mod durability;
mod kv_bad_input;
mod least_privilege;
mod locked_users;
mod password_policies;
mod rabbitmq;
mod seal_lifecycle;
mod support;
mod tls;
mod transit_cli;
