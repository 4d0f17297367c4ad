//! Integration tests of the identity store: the `identity/` API through its backend and
//! the core-facing calls (login, policies, templating).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod aliases;
mod entities;
mod group_aliases;
mod groups;
mod login;
mod lookup;
mod support;
mod templating;
