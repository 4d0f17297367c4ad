//! Vault/OpenBao ACL policies: parsing (HCL and JSON, the legacy `policy = "…"` form, identity
//! templates), the built-in `default` and `root` policies, policy-name normalisation, and the
//! evaluation of a request against a token's merged policies with OpenBao's exact precedence
//! (`internal/vault/policy/acl.go`).
//!
//! ```text
//! parse_policy(name, text) ──► Policy ─┐
//!                   Policy::root() ────┼─► Acl::new(&[&Policy], &TemplateContext) ─► Acl
//!                                      │      evaluate(&AclRequest) ─► AclResult
//!                                      │      capabilities(path)    ─► ["read", …]
//! ```
//!
//! Evaluation, in short: an exact rule for the path wins; otherwise the single best glob (`*`)
//! or segment-wildcard (`+`) rule; only that rule's merged permissions count. Then the
//! operation's capability, the wrapping TTL bounds, and for read/create/update/patch the
//! required/denied/allowed parameters. Where Arca is deliberately stricter than OpenBao the
//! item says so (parameter values given as lists or comma strings, unknown capabilities after
//! `deny`, negative durations, `root` mixed with other policies, odd policy names).
//!
//! Architecture invariant: this crate is pure. No I/O, no async, no other Arca crate; it reads
//! the clock only in [`Acl::new`] (use [`Acl::new_at`] to pass the time). Storage of policies,
//! caching of ACLs and the `sys/policy` endpoints belong to the core.

mod acl;
mod error;
mod hcl1;
mod params;
mod parse_util;
mod policy;
mod template;
mod tree;

pub use acl::{Acl, AclRequest, AclResult, Denial, Operation};
pub use error::PolicyError;
pub use policy::{
    DEFAULT_POLICY, Policy, RESPONSE_WRAPPING_POLICY, ROOT_POLICY, default_policy_text,
    normalize_policy_name, parse_policy, response_wrapping_policy_text,
};
pub use template::TemplateContext;
