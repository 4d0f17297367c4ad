//! Arca's wire format, shared by the server, the client and the CLI.
//!
//! - [`envelope`]: the Vault response envelope and the `{"errors":[...]}` error body.
//! - [`sys`]: bodies of the non-logical `sys/` endpoints (init, unseal, seal-status, health,
//!   leader, rekey, generate-root).
//! - [`json`]: strict, bounded JSON and form decoding of request bodies.
//! - [`duration`]: Go-style durations as Vault accepts and prints them.
//! - [`field`]: Vault-lenient field coercions (bools, ints, comma lists).
//! - [`path`]: canonicalisation of request paths before routing and ACL checks.
//!
//! Architecture invariant: this crate depends only on serde and small parsing helpers; it
//! knows nothing of HTTP frameworks, storage or crypto.

pub mod duration;
pub mod envelope;
pub mod field;
pub mod json;
pub mod path;
pub mod sys;
