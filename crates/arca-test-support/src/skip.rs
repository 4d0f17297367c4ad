//! Skip-or-fail for tests that need something from outside the workspace.

use std::fmt;
use std::io::Write as _;

/// The environment variable that turns a skip into a failure (CI sets it to `1`).
pub const REQUIRE_ENV: &str = "ARCA_TEST_REQUIRE_SERVICES";

/// An outside tool or service is unavailable; the reason says which and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Skip {}

/// Whether `ARCA_TEST_REQUIRE_SERVICES=1` is set, i.e. skipping is not allowed.
pub fn services_required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v.trim() == "1")
}

/// Prints `SKIP: <reason>` and returns, so the calling test can return and pass; with
/// `ARCA_TEST_REQUIRE_SERVICES=1` it panics with the reason instead.
#[allow(
    clippy::panic,
    reason = "a test helper: failing the calling test is its purpose"
)]
pub fn require_or_skip(reason: &str) {
    if services_required() {
        panic!("{REQUIRE_ENV}=1 and a required service is unavailable: {reason}");
    }
    // Straight to the stderr handle, not `eprintln!`: libtest captures the print macros of a
    // passing test, and a skip must be visible in a plain `cargo test` run.
    let _ = writeln!(std::io::stderr(), "SKIP: {reason}");
}

/// `Ok(v)` → `Some(v)`; `Err(skip)` → [`require_or_skip`] and `None`. For
/// `let Some(py) = ok_or_skip(python_env()) else { return };`.
pub fn ok_or_skip<T>(result: Result<T, Skip>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(skip) => {
            require_or_skip(&skip.0);
            None
        }
    }
}
