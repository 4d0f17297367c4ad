//! Integration tests for arca-config: whole files in, `ServerConfig` or an error message out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod errors;
mod files;
mod valid;

use std::path::Path;

use arca_config::{ConfigError, LoadedConfig, parse_str};

/// Parses `text` as if read from `name` (the extension picks the syntax).
pub fn parse(name: &str, text: &str) -> Result<LoadedConfig, ConfigError> {
    parse_str(text, Path::new(name))
}

/// Parses `text`, which must be valid.
pub fn ok(name: &str, text: &str) -> LoadedConfig {
    match parse(name, text) {
        Ok(loaded) => loaded,
        Err(e) => panic!("{name}: unexpected error: {e}"),
    }
}
