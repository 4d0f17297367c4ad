//! Integration tests for arca-acl: one binary, a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod capabilities;
mod default_policy;
mod model;
mod names;
mod parser;
mod support;
mod table;
mod templating;
