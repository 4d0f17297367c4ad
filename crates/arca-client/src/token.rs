//! The client token as a secret type, and the token helper file (`~/.arca-token`) the CLI
//! reads when no token is in the environment and writes on `arca login`.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::Error;

/// A Vault token. Zeroed on drop; `Debug` never shows it; no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a token, trimming surrounding whitespace (as the Go token helper does).
    pub fn new(token: impl Into<String>) -> Token {
        let raw = Zeroizing::new(token.into());
        let trimmed = raw.trim();
        if trimmed.len() == raw.len() {
            Token(raw)
        } else {
            Token(Zeroizing::new(trimmed.to_owned()))
        }
    }

    /// The token text, for the `X-Vault-Token` header and `arca print token`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the token is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The token helper file: one token, mode 0600, replaced atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHelper {
    path: PathBuf,
}

/// File name of the token helper under the home directory.
pub const TOKEN_FILE_NAME: &str = ".arca-token";

impl TokenHelper {
    /// A helper storing the token at `path`.
    pub fn at(path: impl Into<PathBuf>) -> TokenHelper {
        TokenHelper { path: path.into() }
    }

    /// The default helper, `$HOME/.arca-token`; `None` when `HOME` is unset or empty.
    pub fn default_for_home(home: Option<&Path>) -> Option<TokenHelper> {
        home.filter(|h| !h.as_os_str().is_empty())
            .map(|h| TokenHelper::at(h.join(TOKEN_FILE_NAME)))
    }

    /// Where the token is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored token; `None` when there is no file or it holds only whitespace.
    pub fn get(&self) -> Result<Option<Token>, Error> {
        match fs::read_to_string(&self.path) {
            Ok(text) => {
                let token = Token::new(Zeroizing::new(text).as_str());
                Ok((!token.is_empty()).then_some(token))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::TokenHelper(e)),
        }
    }

    /// Replaces the stored token: a temporary file created with mode 0600 in the same
    /// directory, written and fsynced, renamed over the old file, then the directory is
    /// fsynced, so a crash leaves either the old token or the new one, never a torn file.
    pub fn store(&self, token: &Token) -> Result<(), Error> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| TOKEN_FILE_NAME.to_owned());
        let tmp = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
        let result = write_new_private(&tmp, token.expose().as_bytes())
            .and_then(|()| fs::rename(&tmp, &self.path))
            .and_then(|()| File::open(&dir)?.sync_all());
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(Error::TokenHelper)
    }

    /// Removes the stored token; succeeds when there was none.
    pub fn erase(&self) -> Result<(), Error> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::TokenHelper(e)),
        }
    }
}

fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // A stale temp file from a crashed run must not keep its (possibly wider) mode.
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask can only remove bits; set the mode explicitly anyway.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn token_debug_is_redacted_and_trimmed() {
        let t = Token::new("  s.secretvalue\n");
        assert_eq!(t.expose(), "s.secretvalue");
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
    }

    #[test]
    fn store_get_erase_round_trip_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let helper = TokenHelper::default_for_home(Some(dir.path())).unwrap();
        assert_eq!(helper.path(), dir.path().join(".arca-token"));
        assert_eq!(helper.get().unwrap(), None);

        helper.store(&Token::new("s.first")).unwrap();
        let mode = fs::metadata(helper.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(helper.get().unwrap().unwrap().expose(), "s.first");

        // Replacing keeps the mode and leaves no temporary file behind.
        helper.store(&Token::new("s.second")).unwrap();
        assert_eq!(helper.get().unwrap().unwrap().expose(), "s.second");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [".arca-token"]);

        helper.erase().unwrap();
        assert_eq!(helper.get().unwrap(), None);
        helper.erase().unwrap();
    }

    #[test]
    fn store_replaces_a_world_readable_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tok");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let helper = TokenHelper::at(&path);
        helper.store(&Token::new("new")).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn whitespace_only_file_means_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tok");
        fs::write(&path, " \n").unwrap();
        assert_eq!(TokenHelper::at(&path).get().unwrap(), None);
    }

    #[test]
    fn store_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let helper = TokenHelper::at(dir.path().join("nope/tok"));
        let err = helper.store(&Token::new("s.x")).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("s.x"));
    }
}
