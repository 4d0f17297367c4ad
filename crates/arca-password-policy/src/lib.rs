//! Password policies: Vault's HCL format and a generator.
//!
//! ```hcl
//! length = 20
//! rule "charset" {
//!   charset   = "abcdefghijklmnopqrstuvwxyz"
//!   min-chars = 1
//! }
//! ```
//!
//! The alphabet of a password is the union of every rule's charset. Generation picks
//! `min-chars` characters from each rule's own charset, fills the rest from the union and
//! shuffles, all with the system CSPRNG and unbiased (rejection-sampled) indices; so every
//! rule is met on the first try, unlike a generate-and-test loop that can spin on tight
//! policies.
//!
//! Used by the core for `sys/policies/password/*` (validation on write, `.../generate`) and
//! by the database engine for its generated passwords, so both produce passwords the same
//! way. Architecture invariant: depends on no Arca crate but `arca-crypto` (the RNG).

use zeroize::Zeroizing;

/// Vault's limit on a policy's length.
pub const MAX_LENGTH: usize = 4096;

/// Why a policy is invalid or a password could not be generated. Messages never contain
/// the policy text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is not HCL.
    #[error("unable to parse password policy: invalid HCL")]
    Hcl,
    /// `length` is missing, zero or too large.
    #[error("length must be between 1 and {MAX_LENGTH}")]
    Length,
    /// A rule other than `charset`, or an attribute that is not understood.
    #[error("unrecognized rule type or attribute in password policy")]
    Unknown,
    /// A charset rule without characters.
    #[error("charset rule must have a non-empty charset")]
    EmptyCharset,
    /// A charset with a non-printable or non-ASCII-safe character.
    #[error("charset contains a character that is not printable")]
    BadCharacter,
    /// The rules ask for more characters than `length`.
    #[error("specified rules require at least {needed} characters but length is {length}")]
    TooManyRequired {
        /// Sum of `min-chars`.
        needed: usize,
        /// The policy's length.
        length: usize,
    },
    /// No rules at all: there is no alphabet.
    #[error("no charsets specified")]
    NoCharset,
    /// The system random generator failed.
    #[error("random generator failure")]
    Random,
}

/// One `rule "charset"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharsetRule {
    /// Distinct characters, in first-seen order.
    pub charset: Vec<char>,
    /// At least this many characters of the password come from `charset`.
    pub min_chars: usize,
}

/// A parsed, validated password policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Number of characters generated.
    pub length: usize,
    /// The rules.
    pub rules: Vec<CharsetRule>,
}

fn dedup(s: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::new();
    for c in s.chars() {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

fn expr_u64(e: &hcl::Expression) -> Option<u64> {
    match e {
        hcl::Expression::Number(n) => n.as_u64(),
        hcl::Expression::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn expr_str(e: &hcl::Expression) -> Option<String> {
    match e {
        hcl::Expression::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl PasswordPolicy {
    /// Vault's default generator: 20 characters of `[a-zA-Z0-9-]` with at least one
    /// lower-case letter, one upper-case letter, one digit and one dash.
    pub fn default_policy() -> Self {
        let rule = |s: &str| CharsetRule {
            charset: s.chars().collect(),
            min_chars: 1,
        };
        PasswordPolicy {
            length: 20,
            rules: vec![
                rule("abcdefghijklmnopqrstuvwxyz"),
                rule("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                rule("0123456789"),
                rule("-"),
            ],
        }
    }

    /// Parses and validates a policy in Vault's HCL format.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let body = hcl::parse(text).map_err(|_| PolicyError::Hcl)?;
        let mut length = None;
        for a in body.attributes() {
            match a.key() {
                "length" => length = Some(expr_u64(a.expr()).ok_or(PolicyError::Length)?),
                _ => return Err(PolicyError::Unknown),
            }
        }
        let mut rules = Vec::new();
        for b in body.blocks() {
            let kind = b.labels().first().map(|l| l.as_str());
            if b.identifier() != "rule" || kind != Some("charset") || b.labels().len() != 1 {
                return Err(PolicyError::Unknown);
            }
            let mut charset = None;
            let mut min_chars = 0u64;
            for a in b.body().attributes() {
                match a.key() {
                    "charset" => charset = Some(expr_str(a.expr()).ok_or(PolicyError::Unknown)?),
                    "min-chars" | "min_chars" => {
                        min_chars = expr_u64(a.expr()).ok_or(PolicyError::Unknown)?
                    }
                    _ => return Err(PolicyError::Unknown),
                }
            }
            if b.body().blocks().next().is_some() {
                return Err(PolicyError::Unknown);
            }
            let charset = dedup(&charset.unwrap_or_default());
            rules.push(CharsetRule {
                charset,
                min_chars: usize::try_from(min_chars).map_err(|_| PolicyError::Unknown)?,
            });
        }
        let length =
            usize::try_from(length.ok_or(PolicyError::Length)?).map_err(|_| PolicyError::Length)?;
        let p = PasswordPolicy { length, rules };
        p.validate()?;
        Ok(p)
    }

    /// Checks the invariants [`PasswordPolicy::generate`] relies on.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.length == 0 || self.length > MAX_LENGTH {
            return Err(PolicyError::Length);
        }
        if self.rules.is_empty() {
            return Err(PolicyError::NoCharset);
        }
        let mut needed = 0usize;
        for r in &self.rules {
            if r.charset.is_empty() {
                return Err(PolicyError::EmptyCharset);
            }
            if r.charset.iter().any(|c| c.is_control()) {
                return Err(PolicyError::BadCharacter);
            }
            needed = needed.saturating_add(r.min_chars);
        }
        if needed > self.length {
            return Err(PolicyError::TooManyRequired {
                needed,
                length: self.length,
            });
        }
        Ok(())
    }

    /// The union of every rule's charset.
    pub fn alphabet(&self) -> Vec<char> {
        let mut all = Vec::new();
        for r in &self.rules {
            for c in &r.charset {
                if !all.contains(c) {
                    all.push(*c);
                }
            }
        }
        all
    }

    /// A new password that meets every rule.
    pub fn generate(&self) -> Result<Zeroizing<String>, PolicyError> {
        self.validate()?;
        let alphabet = self.alphabet();
        let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(self.length));
        for r in &self.rules {
            for _ in 0..r.min_chars {
                chars.push(r.charset[uniform(r.charset.len())?]);
            }
        }
        while chars.len() < self.length {
            chars.push(alphabet[uniform(alphabet.len())?]);
        }
        // Fisher–Yates, so the required characters are not always in front.
        for i in (1..chars.len()).rev() {
            let j = uniform(i + 1)?;
            chars.swap(i, j);
        }
        Ok(Zeroizing::new(chars.iter().collect()))
    }

    /// Whether `password` meets the policy (length and every rule's minimum).
    pub fn check(&self, password: &str) -> bool {
        let alphabet = self.alphabet();
        password.chars().count() == self.length
            && password.chars().all(|c| alphabet.contains(&c))
            && self
                .rules
                .iter()
                .all(|r| password.chars().filter(|c| r.charset.contains(c)).count() >= r.min_chars)
    }
}

/// A uniform index below `n` (n > 0), by rejection sampling over 32-bit draws.
fn uniform(n: usize) -> Result<usize, PolicyError> {
    let n32 = u32::try_from(n).map_err(|_| PolicyError::Length)?;
    if n32 <= 1 {
        return Ok(0);
    }
    // The largest multiple of n below 2^32; draws at or above it are rejected.
    let zone = u32::MAX - (u32::MAX % n32);
    loop {
        let b: [u8; 4] = arca_crypto::random_array().map_err(|_| PolicyError::Random)?;
        let v = u32::from_le_bytes(b);
        if v < zone {
            return Ok((v % n32) as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn default_policy_shape() {
        let p = PasswordPolicy::default_policy();
        for _ in 0..200 {
            let pw = p.generate().unwrap();
            assert_eq!(pw.len(), 20);
            assert!(p.check(&pw));
            assert!(pw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        }
    }

    #[test]
    fn parses_vault_hcl() {
        let p = PasswordPolicy::parse(
            r#"
length = 12
rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}
rule "charset" {
  charset = "0123456789"
  min-chars = 4
}
"#,
        )
        .unwrap();
        assert_eq!(p.length, 12);
        assert_eq!(p.rules.len(), 2);
        for _ in 0..200 {
            let pw = p.generate().unwrap();
            assert_eq!(pw.chars().count(), 12);
            assert!(pw.chars().filter(char::is_ascii_digit).count() >= 4);
            assert!(p.check(&pw));
        }
    }

    #[test]
    fn tight_policy_always_succeeds() {
        // Every character is constrained: a generate-and-test loop would almost never hit.
        let p = PasswordPolicy::parse(
            "length = 6\nrule \"charset\" {\n charset = \"a\"\n min-chars = 3\n}\nrule \"charset\" {\n charset = \"0123456789\"\n min-chars = 3\n}\n",
        )
        .unwrap();
        for _ in 0..100 {
            let pw = p.generate().unwrap();
            assert_eq!(pw.chars().filter(|c| *c == 'a').count(), 3);
        }
    }

    #[test]
    fn rejects_bad_policies() {
        assert_eq!(PasswordPolicy::parse("length = "), Err(PolicyError::Hcl));
        assert_eq!(
            PasswordPolicy::parse("rule \"charset\" {\n charset = \"ab\"\n}"),
            Err(PolicyError::Length)
        );
        assert_eq!(
            PasswordPolicy::parse("length = 5"),
            Err(PolicyError::NoCharset)
        );
        assert_eq!(
            PasswordPolicy::parse(
                "length = 2\nrule \"charset\" {\n charset = \"ab\"\n min-chars = 3\n}"
            ),
            Err(PolicyError::TooManyRequired {
                needed: 3,
                length: 2
            })
        );
        assert_eq!(
            PasswordPolicy::parse("length = 2\nrule \"other\" {\n charset = \"ab\"\n}"),
            Err(PolicyError::Unknown)
        );
        assert_eq!(
            PasswordPolicy::parse("length = 2\nrule \"charset\" {\n charset = \"\"\n}"),
            Err(PolicyError::EmptyCharset)
        );
    }

    #[test]
    fn uniform_is_in_range_and_covers() {
        let mut seen = [false; 7];
        for _ in 0..500 {
            let v = uniform(7).unwrap();
            seen[v] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
