//! The crate's one error type.
//!
//! Messages never repeat the policy text or the offending value (the rule is the same for every
//! Arca error); they locate the problem by line/column or by the 1-based index of the `path`
//! stanza instead.

/// Why a policy name or a policy document was rejected, or why an ACL could not be built.
///
/// Every variant except [`PolicyError::RootWithOtherPolicies`] and
/// [`PolicyError::TemplatedPath`] is a client error (HTTP 400 at write time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy name is empty once surrounding whitespace is removed.
    #[error("policy name must be provided")]
    EmptyName,
    /// The policy name holds a `/`, a control character, or is `.`/`..`.
    #[error("policy name contains characters that are not allowed")]
    InvalidName,
    /// `root` is built in: it has no rules to parse and cannot be written.
    #[error("cannot update \"root\" policy")]
    RootPolicy,
    /// The text is neither valid HCL nor valid JSON.
    #[error("failed to parse policy: syntax error at line {line}, column {column}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The document is not an object of `path` stanzas.
    #[error("failed to parse policy: does not contain a root object")]
    NotAnObject,
    /// A top-level key other than `path` or `name`.
    #[error("failed to parse policy: invalid top-level key")]
    UnknownTopLevelKey,
    /// A `path` stanza that is not `path "<pattern>" { ... }` (or its JSON form).
    #[error("failed to parse policy: path stanza {stanza}: malformed stanza")]
    MalformedStanza {
        /// 1-based index of the stanza in the document.
        stanza: usize,
    },
    /// A key inside a `path` stanza that Vault/OpenBao does not know.
    #[error("failed to parse policy: path stanza {stanza}: invalid key")]
    UnknownPathKey {
        /// 1-based index of the stanza.
        stanza: usize,
    },
    /// A capability that is not one of create/read/update/patch/delete/list/scan/sudo/deny.
    #[error("failed to parse policy: path stanza {stanza}: invalid capability")]
    InvalidCapability {
        /// 1-based index of the stanza.
        stanza: usize,
    },
    /// A legacy `policy = "..."` value other than deny/read/write/sudo.
    #[error("failed to parse policy: path stanza {stanza}: invalid policy")]
    InvalidLegacyPolicy {
        /// 1-based index of the stanza.
        stanza: usize,
    },
    /// A field holds a value of the wrong type.
    #[error("failed to parse policy: path stanza {stanza}: invalid value for {field}")]
    InvalidValue {
        /// 1-based index of the stanza.
        stanza: usize,
        /// The field's name (ours, never user input).
        field: &'static str,
    },
    /// `max_wrapping_ttl` is smaller than `min_wrapping_ttl` in one stanza.
    #[error(
        "failed to parse policy: path stanza {stanza}: max_wrapping_ttl cannot be less than min_wrapping_ttl"
    )]
    WrappingTtlBounds {
        /// 1-based index of the stanza.
        stanza: usize,
    },
    /// The pattern contains `+*`.
    #[error(
        "failed to parse policy: path stanza {stanza}: invalid use of wildcards ('+*' is forbidden)"
    )]
    PlusGlob {
        /// 1-based index of the stanza.
        stanza: usize,
    },
    /// Unbalanced `{{` / `}}` in a templated pattern.
    #[error("failed to parse policy: path stanza {stanza}: unbalanced templating characters")]
    UnbalancedTemplate {
        /// 1-based index of the stanza.
        stanza: usize,
    },
    /// `list_scan_response_keys_filter_path` on a stanza without `list`.
    #[error(
        "failed to parse policy: path stanza {stanza}: list_scan_response_keys_filter_path needs to be used on a path with the list capability"
    )]
    FilterPathWithoutList {
        /// 1-based index of the stanza.
        stanza: usize,
    },
    /// HCL expressions (variables, functions, operators) where a literal is expected.
    #[error("failed to parse policy: only literal values are supported")]
    UnsupportedExpression,
    /// `root` was combined with other policies; OpenBao refuses to build such an ACL, and so
    /// do we (fail closed: `root` must never arrive through identity or group policies).
    #[error("other policies present along with root")]
    RootWithOtherPolicies,
    /// A templated pattern substituted into something that is not a valid pattern (`+*`).
    #[error("error parsing templated policy")]
    TemplatedPath,
}
