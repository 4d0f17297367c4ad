//! The crate's error type: every error names the file, and where it can, the line and the key.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, without the where (that is in [`ConfigError`]).
///
/// Messages never carry the value of a key that could be a secret; they may quote values of
/// keys that are not (a duration, a log level, a TLS version, a block type).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A file or directory could not be read.
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    /// The text is not valid HCL or JSON.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A key has the wrong type or a bad value, or a required key is missing.
    #[error("{0}")]
    Invalid(String),
    /// A valid Vault/OpenBao setting that Arca does not implement (and must not silently ignore).
    #[error("{0}")]
    Unsupported(String),
}

/// A configuration error, displayed as `<file>:<line>: <key>: <message>`.
///
/// The line is absent only for errors about a whole file (it cannot be read); the key is absent
/// for syntax errors.
#[derive(Debug)]
pub struct ConfigError {
    file: PathBuf,
    line: Option<usize>,
    key: Option<String>,
    kind: ConfigErrorKind,
}

impl ConfigError {
    pub(crate) fn new(
        file: &Path,
        line: Option<usize>,
        key: Option<&str>,
        kind: ConfigErrorKind,
    ) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line,
            key: key.map(printable),
            kind,
        }
    }

    pub(crate) fn io(file: &Path, err: std::io::Error) -> Self {
        Self::new(file, None, None, ConfigErrorKind::Io(err))
    }

    /// The file the error is in.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The 1-based line the error is on, when it is about one place in the file.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The dotted path of the key at fault, e.g. `listener.tcp.tls_min_version`.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &ConfigErrorKind {
        &self.kind
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The kind's own text is already part of Display; expose only what lies beneath it.
        std::error::Error::source(&self.kind)
    }
}

/// Key names come from the file (a JSON key can hold anything); escape control characters so a
/// hostile or broken file cannot inject terminal escapes or fake lines into the server's output.
pub(crate) fn printable(s: &str) -> String {
    if s.chars().all(|c| !c.is_control()) {
        s.to_owned()
    } else {
        s.escape_debug().to_string()
    }
}

/// Quotes a value of a non-secret key for an error message; long or odd values are elided so an
/// error never becomes a way to print arbitrary file content.
pub(crate) fn shown(value: &str) -> String {
    const MAX: usize = 64;
    if value.chars().count() <= MAX && value.chars().all(|c| !c.is_control()) {
        format!("{value:?}")
    } else {
        "(value not shown)".to_owned()
    }
}
