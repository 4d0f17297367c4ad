//! The ACL model table: (policies, path, operation, parameters, wrapping, sudo) → verdict, one
//! or more rows for every rule of vault-api.md §4.2 (and the OpenBao `acl.go` details behind
//! them). Each row names the rule it pins down.

use arca_acl::{Denial, Operation, Operation::*};

use crate::support::{Req, acl, eval};

struct Case {
    rule: &'static str,
    policies: Vec<&'static str>,
    req: Req,
    expect: Result<(), Denial>,
}

fn c(rule: &'static str, policies: &[&'static str], op: Operation, path: &'static str) -> Case {
    Case {
        rule,
        policies: policies.to_vec(),
        req: Req::new(op, path),
        expect: Ok(()),
    }
}

impl Case {
    fn data(mut self, json: &str) -> Case {
        self.req.data = serde_json::from_str(json).unwrap();
        self
    }
    fn wrap(mut self, secs: u64) -> Case {
        self.req.wrap = Some(secs);
        self
    }
    fn sudo(mut self) -> Case {
        self.req.sudo = true;
        self
    }
    fn deny(mut self, d: Denial) -> Case {
        self.expect = Err(d);
        self
    }
}

// Policies reused by several rows.
const READ_SECRET: &str = r#"path "secret/foo" { capabilities = ["read"] }"#;
const UPDATE_SECRET: &str = r#"path "secret/foo" { capabilities = ["update"] }"#;
const DENY_SECRET: &str = r#"path "secret/foo" { capabilities = ["deny"] }"#;
const VERIFIED: &str = r#"
path "kv/x" {
  capabilities        = ["create", "update"]
  allowed_parameters  = { color = ["red", "blue"], "*" = [] }
  denied_parameters   = { secret = [] }
  required_parameters = ["color"]
}"#;
const VALUES: &str = r#"
path "dev/*" {
  policy = "write"
  allowed_parameters = { "allow" = ["good"] }
}
path "foo/bar" {
  policy = "write"
  denied_parameters = { "deny" = ["bad*"] }
}
path "foo/baz" {
  policy = "write"
  allowed_parameters = { "ALLOW" = ["good"] }
  denied_parameters = { "dEny" = ["bad"] }
}
path "fizz/buzz" {
  policy = "write"
  allowed_parameters = {
    "allow_multi" = ["good", "good1", "good2", "*good3"]
    "allow" = ["good"]
  }
  denied_parameters = { "deny_multi" = ["bad", "bad1", "bad2"] }
}
path "test/types" {
  policy = "write"
  allowed_parameters = {
    "map" = [{"good" = "one"}]
    "int" = [1, 2]
    "bool" = [false]
  }
}
path "test/star" {
  policy = "write"
  allowed_parameters = { "*" = [], "foo" = [], "bar" = [false] }
}
path "test/literal-star" {
  policy = "write"
  allowed_parameters = { "v" = ["*"] }
}
"#;
const LISTS: &str = r#"
path "auth/token/create" {
  capabilities       = ["update"]
  allowed_parameters = { policies = ["dev", "ops"], "*" = [] }
  denied_parameters  = { no_default_policy = [true], meta = ["root"] }
}
path "comma/exact" {
  capabilities       = ["update"]
  allowed_parameters = { v = ["a,b"] }
}"#;

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    use Denial::*;
    vec![
        // ── 1. Building the ACL: identical patterns merge ─────────────────────────────────
        c(
            "merge: capabilities OR'd across policies",
            &[READ_SECRET, UPDATE_SECRET],
            Read,
            "secret/foo",
        ),
        c(
            "merge: capabilities OR'd across policies",
            &[READ_SECRET, UPDATE_SECRET],
            Update,
            "secret/foo",
        ),
        c(
            "merge: capabilities OR'd across policies",
            &[READ_SECRET, UPDATE_SECRET],
            Delete,
            "secret/foo",
        )
        .deny(MissingCapability),
        c(
            "merge: deny in a later policy wins",
            &[READ_SECRET, DENY_SECRET],
            Read,
            "secret/foo",
        )
        .deny(ExplicitDeny),
        c(
            "merge: deny in an earlier policy wins",
            &[DENY_SECRET, READ_SECRET],
            Read,
            "secret/foo",
        )
        .deny(ExplicitDeny),
        c(
            "merge: deny beats sudo",
            &[
                r#"path "sys/raw" { capabilities = ["sudo", "read"] }"#,
                r#"path "sys/raw" { capabilities = ["deny"] }"#,
            ],
            Read,
            "sys/raw",
        )
        .sudo()
        .deny(ExplicitDeny),
        c(
            "merge: duplicate stanzas in one policy merge",
            &[r#"path "a" { capabilities = ["read"] }
               path "a" { capabilities = ["list"] }"#],
            List,
            "a",
        ),
        c(
            "merge: deny within the same stanza drops the other capabilities",
            &[r#"path "a" { capabilities = ["read", "deny"] }"#],
            Read,
            "a",
        )
        .deny(ExplicitDeny),
        c(
            "merge: allowed values are unioned",
            &[
                r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { color = ["red"] } }"#,
                r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { color = ["blue"] } }"#,
            ],
            Update,
            "p",
        )
        .data(r#"{"color":"blue"}"#),
        c(
            "merge: allowed values are unioned",
            &[
                r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { color = ["red"] } }"#,
                r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { color = ["blue"] } }"#,
            ],
            Update,
            "p",
        )
        .data(r#"{"color":"green"}"#)
        .deny(ParameterNotAllowed),
        c(
            "merge: an empty allowed list means any value and wins",
            &[
                r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { color = ["red"] } }"#,
                r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { color = [] } }"#,
            ],
            Update,
            "p",
        )
        .data(r#"{"color":"green"}"#),
        c(
            "merge: a restriction from one policy applies to the merged rule",
            &[
                r#"path "p" { capabilities = ["update"] }"#,
                r#"path "p" { capabilities = ["read"]
                          allowed_parameters = { color = [] } }"#,
            ],
            Update,
            "p",
        )
        .data(r#"{"size":"xl"}"#)
        .deny(ParameterNotAllowed),
        c(
            "merge: denied lists are unioned",
            &[
                r#"path "p" { capabilities = ["update"]
                          denied_parameters = { a = [] } }"#,
                r#"path "p" { capabilities = ["update"]
                          denied_parameters = { b = ["x"] } }"#,
            ],
            Update,
            "p",
        )
        .data(r#"{"b":"x"}"#)
        .deny(DeniedParameter),
        c(
            "merge: denied lists are unioned",
            &[
                r#"path "p" { capabilities = ["update"]
                          denied_parameters = { a = [] } }"#,
                r#"path "p" { capabilities = ["update"]
                          denied_parameters = { b = ["x"] } }"#,
            ],
            Update,
            "p",
        )
        .data(r#"{"b":"y"}"#),
        c(
            "merge: required parameters are unioned",
            &[
                r#"path "p" { capabilities = ["update"]
                          required_parameters = ["a"] }"#,
                r#"path "p" { capabilities = ["update"]
                          required_parameters = ["b"] }"#,
            ],
            Update,
            "p",
        )
        .data(r#"{"a":1}"#)
        .deny(MissingRequiredParameter),
        c(
            "merge: required parameters are unioned",
            &[
                r#"path "p" { capabilities = ["update"]
                          required_parameters = ["a"] }"#,
                r#"path "p" { capabilities = ["update"]
                          required_parameters = ["b"] }"#,
            ],
            Update,
            "p",
        )
        .data(r#"{"a":1,"b":2}"#),
        c(
            "merge: the smaller min_wrapping_ttl is kept",
            &[
                r#"path "w" { capabilities = ["read"]
                          min_wrapping_ttl = "10s" }"#,
                r#"path "w" { capabilities = ["read"]
                          min_wrapping_ttl = 5 }"#,
            ],
            Read,
            "w",
        )
        .wrap(6),
        c(
            "merge: the smaller max_wrapping_ttl is kept",
            &[
                r#"path "w" { capabilities = ["read"]
                          max_wrapping_ttl = "100s" }"#,
                r#"path "w" { capabilities = ["read"]
                          max_wrapping_ttl = "50s" }"#,
            ],
            Read,
            "w",
        )
        .wrap(60)
        .deny(WrappingTtl),
        c(
            "merge: merged bounds with max < min deny every request",
            &[
                r#"path "w" { capabilities = ["read"]
                          min_wrapping_ttl = "60s" }"#,
                r#"path "w" { capabilities = ["read"]
                          max_wrapping_ttl = "30s" }"#,
            ],
            Read,
            "w",
        )
        .wrap(45)
        .deny(WrappingTtl),
        c(
            "merge: expired stanzas are dropped",
            &[r#"path "e" { capabilities = ["read"]
                          expiration = "2020-01-01T00:00:00Z" }"#],
            Read,
            "e",
        )
        .deny(NoMatchingRule),
        c(
            "merge: unexpired stanzas apply",
            &[r#"path "e" { capabilities = ["read"]
                          expiration = "2030-01-01T00:00:00Z" }"#],
            Read,
            "e",
        ),
        c(
            "merge: only identical pattern strings merge (glob vs +)",
            &[
                r#"path "m/*" { capabilities = ["read"] }"#,
                r#"path "m/+" { capabilities = ["update"] }"#,
            ],
            Read,
            "m/x",
        )
        .deny(MissingCapability),
        // ── 2.1 Exact rules ───────────────────────────────────────────────────────────────
        c(
            "exact: an exact rule beats any glob",
            &[r#"path "secret/foo" { capabilities = ["update"] }
               path "secret/*" { capabilities = ["read"] }"#],
            Read,
            "secret/foo",
        )
        .deny(MissingCapability),
        c(
            "exact: an exact rule beats a + rule",
            &[r#"path "secret/foo" { capabilities = ["update"] }
               path "secret/+" { capabilities = ["read"] }"#],
            Read,
            "secret/foo",
        )
        .deny(MissingCapability),
        c(
            "exact: an exact rule matches only its own path",
            &[READ_SECRET],
            Read,
            "secret/foo/bar",
        )
        .deny(NoMatchingRule),
        c(
            "exact: an exact rule matches only its own path",
            &[READ_SECRET],
            Read,
            "secret/fo",
        )
        .deny(NoMatchingRule),
        c(
            "exact: leading slashes of the request are ignored",
            &[READ_SECRET],
            Read,
            "//secret/foo",
        ),
        c(
            "exact: one leading slash of the pattern is ignored",
            &[r#"path "/secret/foo" { capabilities = ["read"] }"#],
            Read,
            "secret/foo",
        ),
        c(
            "exact: a * that is not last is a literal character",
            &[r#"path "secret/*/x" { capabilities = ["read"] }"#],
            Read,
            "secret/a/x",
        )
        .deny(NoMatchingRule),
        c(
            "exact: a * that is not last is a literal character",
            &[r#"path "secret/*/x" { capabilities = ["read"] }"#],
            Read,
            "secret/*/x",
        ),
        c(
            "exact: list also tries the path without its trailing slash",
            &[r#"path "secret/dir" { capabilities = ["list"] }"#],
            List,
            "secret/dir/",
        ),
        c(
            "exact: scan also tries the path without its trailing slash",
            &[r#"path "secret/dir" { capabilities = ["scan"] }"#],
            Scan,
            "secret/dir/",
        ),
        c(
            "exact: other operations do not drop the trailing slash",
            &[r#"path "secret/dir" { capabilities = ["read"] }"#],
            Read,
            "secret/dir/",
        )
        .deny(NoMatchingRule),
        c(
            "exact: the slash-less exact rule beats a glob for list",
            &[r#"path "secret/x" { capabilities = ["list"] }
               path "secret/*" { capabilities = ["deny"] }"#],
            List,
            "secret/x/",
        ),
        // ── 2.2 Globs and + segments ──────────────────────────────────────────────────────
        c(
            "glob: a trailing * is a prefix match across segments",
            &[r#"path "secret/zip-*" { capabilities = ["read"] }"#],
            Read,
            "secret/zip-zap/zong",
        ),
        c(
            "glob: the prefix itself matches",
            &[r#"path "secret/*" { capabilities = ["read"] }"#],
            Read,
            "secret/",
        ),
        c(
            "glob: the prefix must match",
            &[r#"path "secret/*" { capabilities = ["read"] }"#],
            Read,
            "secrets/x",
        )
        .deny(NoMatchingRule),
        c(
            "glob: * alone matches everything",
            &[r#"path "*" { capabilities = ["read"] }"#],
            Read,
            "any/thing",
        ),
        c(
            "glob: the longest prefix wins",
            &[r#"path "secret/*" { capabilities = ["read"] }
               path "secret/a/*" { capabilities = ["deny"] }"#],
            Read,
            "secret/a/b",
        )
        .deny(ExplicitDeny),
        c(
            "glob: the longest prefix wins",
            &[r#"path "secret/*" { capabilities = ["read"] }
               path "secret/a/*" { capabilities = ["deny"] }"#],
            Read,
            "secret/b",
        ),
        c(
            "glob: only the winner counts, shorter globs are not unioned",
            &[r#"path "secret/*" { capabilities = ["read", "list"] }
               path "secret/a*" { capabilities = ["create"] }"#],
            Read,
            "secret/ab",
        )
        .deny(MissingCapability),
        c(
            "plus: + matches exactly one segment",
            &[r#"path "secret/+/teamb" { capabilities = ["read"] }"#],
            Read,
            "secret/a/teamb",
        ),
        c(
            "plus: + does not match two segments",
            &[r#"path "secret/+/teamb" { capabilities = ["read"] }"#],
            Read,
            "secret/a/b/teamb",
        )
        .deny(NoMatchingRule),
        c(
            "plus: + does not match zero segments",
            &[r#"path "secret/+/teamb" { capabilities = ["read"] }"#],
            Read,
            "secret/teamb",
        )
        .deny(NoMatchingRule),
        c(
            "plus: + matches an empty segment",
            &[r#"path "secret/+/teamb" { capabilities = ["read"] }"#],
            Read,
            "secret//teamb",
        ),
        c(
            "plus: + as the first segment",
            &[r#"path "+/config" { capabilities = ["read"] }"#],
            Read,
            "kv/config",
        ),
        c(
            "plus: a + rule without * needs the same segment count",
            &[r#"path "secret/+" { capabilities = ["read"] }"#],
            Read,
            "secret/a/b",
        )
        .deny(NoMatchingRule),
        c(
            "plus: with a trailing * the last part is a prefix of its segment",
            &[r#"path "secret/+/data*" { capabilities = ["read"] }"#],
            Read,
            "secret/a/database/x",
        ),
        c(
            "plus: with a trailing * the last part is a prefix of its segment",
            &[r#"path "secret/+/data*" { capabilities = ["read"] }"#],
            Read,
            "secret/a/dat",
        )
        .deny(NoMatchingRule),
        c(
            "plus: +/…/* needs at least as many segments",
            &[r#"path "secret/+/*" { capabilities = ["read"] }"#],
            Read,
            "secret/a",
        )
        .deny(NoMatchingRule),
        c(
            "plus: +/…/* needs at least as many segments",
            &[r#"path "secret/+/*" { capabilities = ["read"] }"#],
            Read,
            "secret/a/",
        ),
        // Priority between non-exact matches (OpenBao's TestACL_SegmentWildcardPriority).
        c(
            "priority: equal first wildcard, fewer + wins (* over +/*)",
            &[r#"path "+/*" { capabilities = ["read"] }
               path "*" { capabilities = ["update"] }"#],
            Update,
            "foo/bar/bar/baz",
        ),
        c(
            "priority: equal first wildcard, fewer + wins (* over +/*)",
            &[r#"path "+/*" { capabilities = ["read"] }
               path "*" { capabilities = ["update"] }"#],
            Read,
            "foo/bar/bar/baz",
        )
        .deny(MissingCapability),
        c(
            "priority: a later first wildcard wins",
            &[r#"path "+/*" { capabilities = ["read"] }
               path "foo/+/*" { capabilities = ["update"] }"#],
            Update,
            "foo/bar/bar/baz",
        ),
        c(
            "priority: fewer + segments win",
            &[r#"path "foo/+/+/*" { capabilities = ["read"] }
               path "foo/+/bar/baz" { capabilities = ["update"] }"#],
            Update,
            "foo/bar/bar/baz",
        ),
        c(
            "priority: fewer + segments win",
            &[r#"path "foo/+/+/baz" { capabilities = ["read"] }
               path "foo/+/bar/baz" { capabilities = ["update"] }"#],
            Read,
            "foo/bar/bar/baz",
        )
        .deny(MissingCapability),
        c(
            "priority: a later first wildcard wins over lexicographic order",
            &[r#"path "foo/+/(ar/baz" { capabilities = ["read"] }
               path "foo/(ar/+/baz" { capabilities = ["update"] }"#],
            Update,
            "foo/(ar/(ar/baz",
        ),
        c(
            "priority: without a trailing * wins",
            &[r#"path "foo/bar/+/baz*" { capabilities = ["read"] }
               path "foo/bar/+/baz" { capabilities = ["update"] }"#],
            Read,
            "foo/bar/bar/baz",
        )
        .deny(MissingCapability),
        c(
            "priority: the longer pattern wins",
            &[r#"path "foo/bar/+/b*" { capabilities = ["read"] }
               path "foo/bar/+/ba*" { capabilities = ["update"] }"#],
            Update,
            "foo/bar/bar/baz",
        ),
        c(
            "priority: a glob with a longer literal prefix beats a + rule",
            &[r#"path "foo/+/x" { capabilities = ["read"] }
               path "foo/b*" { capabilities = ["update"] }"#],
            Read,
            "foo/bar/x",
        )
        .deny(MissingCapability),
        c(
            "priority: a + rule with a longer literal prefix beats a glob",
            &[r#"path "foo/*" { capabilities = ["read"] }
               path "foo/bar/+" { capabilities = ["update"] }"#],
            Update,
            "foo/bar/x",
        ),
        c(
            "priority: same first wildcard, the + rule beats the glob",
            &[r#"path "foo/*" { capabilities = ["read"] }
               path "foo/+" { capabilities = ["update"] }"#],
            Read,
            "foo/bar",
        )
        .deny(MissingCapability),
        c(
            "priority: fewer + wins at the same first wildcard",
            &[r#"path "a/+/b" { capabilities = ["read"] }
               path "a/+/+" { capabilities = ["update"] }"#],
            Read,
            "a/x/b",
        ),
        c(
            "priority: the lexicographically greater pattern wins a full tie",
            &[r#"path "a/+/x/+" { capabilities = ["read"] }
               path "a/+/+/y" { capabilities = ["update"] }"#],
            Read,
            "a/1/x/y",
        ),
        c(
            "priority: the lexicographically greater pattern wins a full tie",
            &[r#"path "a/+/+/y" { capabilities = ["update"] }
               path "a/+/x/+" { capabilities = ["read"] }"#],
            Update,
            "a/1/x/y",
        )
        .deny(MissingCapability),
        c(
            "priority: a deny winner denies even if a weaker rule grants",
            &[r#"path "foo/metadata/*" { capabilities = ["list"] }
               path "foo/metadata/private/*" { capabilities = ["deny"] }
               path "foo/metadata/private/granted/*" { capabilities = ["list"] }"#],
            List,
            "foo/metadata/private/",
        )
        .deny(ExplicitDeny),
        c(
            "priority: a deny winner denies even if a weaker rule grants",
            &[r#"path "foo/metadata/*" { capabilities = ["list"] }
               path "foo/metadata/private/*" { capabilities = ["deny"] }
               path "foo/metadata/private/granted/*" { capabilities = ["list"] }"#],
            List,
            "foo/metadata/private/granted/",
        ),
        // ── 2.3 List/scan retry without the trailing slash ────────────────────────────────
        c(
            "list: a + rule matches the path without its trailing slash",
            &[r#"path "secret/+" { capabilities = ["list"] }"#],
            List,
            "secret/a/",
        ),
        c(
            "list: no retry for other operations",
            &[r#"path "secret/+" { capabilities = ["read"] }"#],
            Read,
            "secret/a/",
        )
        .deny(NoMatchingRule),
        c(
            "list: the with-slash match is tried first",
            &[r#"path "secret/a/*" { capabilities = ["list"] }
               path "secret/+" { capabilities = ["deny"] }"#],
            List,
            "secret/a/",
        ),
        c(
            "list: no match at all",
            &[r#"path "x/*" { capabilities = ["list"] }"#],
            List,
            "y/",
        )
        .deny(NoMatchingRule),
        // ── 3. Capabilities ──────────────────────────────────────────────────────────────
        c(
            "caps: create",
            &[r#"path "c" { capabilities = ["create"] }"#],
            Create,
            "c",
        ),
        c(
            "caps: create is not update",
            &[r#"path "c" { capabilities = ["create"] }"#],
            Update,
            "c",
        )
        .deny(MissingCapability),
        c(
            "caps: update is not create",
            &[r#"path "c" { capabilities = ["update"] }"#],
            Create,
            "c",
        )
        .deny(MissingCapability),
        c(
            "caps: patch",
            &[r#"path "c" { capabilities = ["patch"] }"#],
            Patch,
            "c",
        ),
        c(
            "caps: patch is not update",
            &[r#"path "c" { capabilities = ["update"] }"#],
            Patch,
            "c",
        )
        .deny(MissingCapability),
        c(
            "caps: delete",
            &[r#"path "c" { capabilities = ["delete"] }"#],
            Delete,
            "c",
        ),
        c(
            "caps: list",
            &[r#"path "c/" { capabilities = ["list"] }"#],
            List,
            "c/",
        ),
        c(
            "caps: scan",
            &[r#"path "c/" { capabilities = ["scan"] }"#],
            Scan,
            "c/",
        ),
        c(
            "caps: scan is not list",
            &[r#"path "c/" { capabilities = ["list"] }"#],
            Scan,
            "c/",
        )
        .deny(MissingCapability),
        c(
            "caps: renew needs update",
            &[r#"path "c" { capabilities = ["update"] }"#],
            Renew,
            "c",
        ),
        c(
            "caps: revoke needs update",
            &[r#"path "c" { capabilities = ["read"] }"#],
            Revoke,
            "c",
        )
        .deny(MissingCapability),
        c(
            "caps: rollback needs update",
            &[r#"path "c" { capabilities = ["update"] }"#],
            Rollback,
            "c",
        ),
        c("caps: help is always allowed", &[], Help, "anything"),
        c(
            "caps: sudo is needed in addition on root paths",
            &[r#"path "sys/audit" { capabilities = ["read"] }"#],
            Read,
            "sys/audit",
        )
        .sudo()
        .deny(SudoRequired),
        c(
            "caps: sudo alone does not grant the operation",
            &[r#"path "sys/audit" { capabilities = ["sudo"] }"#],
            Read,
            "sys/audit",
        )
        .sudo()
        .deny(MissingCapability),
        c(
            "caps: sudo plus the operation",
            &[r#"path "sys/audit" { capabilities = ["read", "sudo"] }"#],
            Read,
            "sys/audit",
        )
        .sudo(),
        c(
            "caps: legacy read = read + list",
            &[r#"path "l" { policy = "read" }"#],
            List,
            "l",
        ),
        c(
            "caps: legacy read has no update",
            &[r#"path "l" { policy = "read" }"#],
            Update,
            "l",
        )
        .deny(MissingCapability),
        c(
            "caps: legacy write has no sudo",
            &[r#"path "l" { policy = "write" }"#],
            Delete,
            "l",
        )
        .sudo()
        .deny(SudoRequired),
        c(
            "caps: legacy sudo",
            &[r#"path "l" { policy = "sudo" }"#],
            Delete,
            "l",
        )
        .sudo(),
        c(
            "caps: legacy deny",
            &[r#"path "l" { policy = "deny"
                                               capabilities = ["read"] }"#],
            Read,
            "l",
        )
        .deny(ExplicitDeny),
        c("caps: no policies at all", &[], Read, "secret/foo").deny(NoMatchingRule),
        // ── 3. Wrapping TTL bounds ────────────────────────────────────────────────────────
        c(
            "wrap: max set, request not wrapped",
            &[r#"path "w" { capabilities = ["read"]
                                                           max_wrapping_ttl = "60s" }"#],
            Read,
            "w",
        )
        .deny(WrappingTtl),
        c(
            "wrap: max set, within",
            &[r#"path "w" { capabilities = ["read"]
                                                  max_wrapping_ttl = "60s" }"#],
            Read,
            "w",
        )
        .wrap(60),
        c(
            "wrap: max set, above",
            &[r#"path "w" { capabilities = ["read"]
                                                 max_wrapping_ttl = "1m" }"#],
            Read,
            "w",
        )
        .wrap(61)
        .deny(WrappingTtl),
        c(
            "wrap: min set, request not wrapped",
            &[r#"path "w" { capabilities = ["read"]
                                                           min_wrapping_ttl = 30 }"#],
            Read,
            "w",
        )
        .deny(WrappingTtl),
        c(
            "wrap: min set, below",
            &[r#"path "w" { capabilities = ["read"]
                                                 min_wrapping_ttl = 30 }"#],
            Read,
            "w",
        )
        .wrap(29)
        .deny(WrappingTtl),
        c(
            "wrap: min set, at the bound",
            &[r#"path "w" { capabilities = ["read"]
                                                        min_wrapping_ttl = 30 }"#],
            Read,
            "w",
        )
        .wrap(30),
        c(
            "wrap: both, inside",
            &[r#"path "w" { capabilities = ["read"]
                                               min_wrapping_ttl = "1s"
                                               max_wrapping_ttl = "90s" }"#],
            Read,
            "w",
        )
        .wrap(45),
        c(
            "wrap: no bounds, wrapping is optional",
            &[READ_SECRET],
            Read,
            "secret/foo",
        )
        .wrap(1000),
        c(
            "wrap: capability is checked first",
            &[r#"path "w" { capabilities = ["read"]
                                                              max_wrapping_ttl = 60 }"#],
            Update,
            "w",
        )
        .deny(MissingCapability),
        // ── 3. Parameters (the example verified against OpenBao) ──────────────────────────
        c("params: verified 204 case", &[VERIFIED], Update, "kv/x")
            .data(r#"{"color":"red","size":"xl"}"#),
        c(
            "params: verified 403, value not allowed",
            &[VERIFIED],
            Update,
            "kv/x",
        )
        .data(r#"{"color":"green"}"#)
        .deny(ParameterNotAllowed),
        c(
            "params: verified 403, required missing",
            &[VERIFIED],
            Update,
            "kv/x",
        )
        .data(r#"{"size":"m"}"#)
        .deny(MissingRequiredParameter),
        c(
            "params: verified 403, denied key",
            &[VERIFIED],
            Create,
            "kv/x",
        )
        .data(r#"{"color":"blue","secret":"x"}"#)
        .deny(DeniedParameter),
        c(
            "params: required applies to an empty body",
            &[VERIFIED],
            Update,
            "kv/x",
        )
        .deny(MissingRequiredParameter),
        c(
            "params: an empty body passes allowed/denied",
            &[r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { a = ["x"] }
                          denied_parameters = { "*" = [] } }"#],
            Update,
            "p",
        )
        .data("{}"),
        c(
            "params: denied * denies any body",
            &[r#"path "p" { capabilities = ["update"]
                          denied_parameters = { "*" = [] } }"#],
            Update,
            "p",
        )
        .data(r#"{"a":1}"#)
        .deny(DeniedParameter),
        c(
            "params: denied key with [] denies any value",
            &[r#"path "p" { capabilities = ["update"]
                          denied_parameters = { zap = [] } }"#],
            Update,
            "p",
        )
        .data(r#"{"zap":null}"#)
        .deny(DeniedParameter),
        c(
            "params: allowed * alone allows everything",
            &[r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { "*" = [] } }"#],
            Update,
            "p",
        )
        .data(r#"{"anything":[1,2]}"#),
        c(
            "params: denied beats allowed * ",
            &[r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { "*" = [] }
                          denied_parameters = { foo = [] } }"#],
            Update,
            "p",
        )
        .data(r#"{"foo":"x"}"#)
        .deny(DeniedParameter),
        c(
            "params: allowed keys must be listed",
            &[r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { zip = [] } }"#],
            Update,
            "p",
        )
        .data(r#"{"zip":1,"zap":2}"#)
        .deny(ParameterNotAllowed),
        c(
            "params: allowed = {} means no restriction",
            &[r#"path "p" { capabilities = ["update"]
                          allowed_parameters = {}
                          denied_parameters = {} }"#],
            Update,
            "p",
        )
        .data(r#"{"any":1}"#),
        c(
            "params: the same key allowed and denied is denied",
            &[r#"path "p" { capabilities = ["update"]
                          allowed_parameters = { steve = [] }
                          denied_parameters = { steve = [] } }"#],
            Update,
            "p",
        )
        .data(r#"{"steve":1}"#)
        .deny(DeniedParameter),
        c(
            "params: checked for read",
            &[r#"path "p" { capabilities = ["read"]
                                                     denied_parameters = { version = [] } }"#],
            Read,
            "p",
        )
        .data(r#"{"version":"1"}"#)
        .deny(DeniedParameter),
        c(
            "params: not checked for delete",
            &[r#"path "p" { capabilities = ["delete"]
                                                           required_parameters = ["x"]
                                                           denied_parameters = { "*" = [] } }"#],
            Delete,
            "p",
        )
        .data(r#"{"a":1}"#),
        c(
            "params: not checked for list",
            &[r#"path "p/" { capabilities = ["list"]
                                                          denied_parameters = { "*" = [] } }"#],
            List,
            "p/",
        )
        .data(r#"{"after":"x"}"#),
        c(
            "params: not checked for renew",
            &[r#"path "p" { capabilities = ["update"]
                                                          required_parameters = ["x"] }"#],
            Renew,
            "p",
        ),
        c(
            "params: nested KV v2 data is not inspected",
            &[
                r#"path "secret/data/*" { capabilities = ["create", "update"]
                                      denied_parameters = { password = [] } }"#,
            ],
            Update,
            "secret/data/app",
        )
        .data(r#"{"data":{"password":"x"}}"#),
        c(
            "params: request keys are matched lower-cased",
            &[VALUES],
            Update,
            "foo/baz",
        )
        .data(r#"{"aLLow":"good"}"#),
        c(
            "params: policy keys are lower-cased",
            &[VALUES],
            Update,
            "foo/baz",
        )
        .data(r#"{"deNy":"bad","allow":"good"}"#)
        .deny(DeniedParameter),
        c(
            "params: unknown key on a restricted rule",
            &[VALUES],
            Update,
            "foo/baz",
        )
        .data(r#"{"Neither":"bad"}"#)
        .deny(ParameterNotAllowed),
        c(
            "params: null is not an allowed value",
            &[VALUES],
            Update,
            "foo/baz",
        )
        .data(r#"{"allow":null}"#)
        .deny(ParameterNotAllowed),
        c(
            "params: null is not a denied value",
            &[VALUES],
            Update,
            "foo/bar",
        )
        .data(r#"{"deny":null}"#),
        c(
            "params: required keys are matched lower-cased against the request as given",
            &[r#"path "p" { capabilities = ["update"]
                          required_parameters = ["Type"] }"#],
            Update,
            "p",
        )
        .data(r#"{"type":"x"}"#),
        c(
            "params: required keys are matched lower-cased against the request as given",
            &[r#"path "p" { capabilities = ["update"]
                          required_parameters = ["type"] }"#],
            Update,
            "p",
        )
        .data(r#"{"Type":"x"}"#)
        .deny(MissingRequiredParameter),
        // Value globs.
        c(
            "values: prefix glob in denied",
            &[VALUES],
            Update,
            "foo/bar",
        )
        .data(r#"{"deny":"bad glob"}"#)
        .deny(DeniedParameter),
        c(
            "values: prefix glob in denied",
            &[VALUES],
            Update,
            "foo/bar",
        )
        .data(r#"{"deny":"good"}"#),
        c(
            "values: suffix glob in allowed",
            &[VALUES],
            Update,
            "fizz/buzz",
        )
        .data(r#"{"allow_multi":"glob good3"}"#),
        c(
            "values: no glob means exact",
            &[VALUES],
            Update,
            "fizz/buzz",
        )
        .data(r#"{"allow_multi":"glob good2"}"#)
        .deny(ParameterNotAllowed),
        c(
            "values: a key that is only in denied is not allowed",
            &[VALUES],
            Update,
            "fizz/buzz",
        )
        .data(r#"{"deny_multi":"good","allow_multi":"good2"}"#)
        .deny(ParameterNotAllowed),
        c(
            "values: several allowed keys",
            &[VALUES],
            Update,
            "fizz/buzz",
        )
        .data(r#"{"allow":"good","allow_multi":"good1"}"#),
        c(
            "values: one denied key among allowed ones",
            &[VALUES],
            Update,
            "fizz/buzz",
        )
        .data(r#"{"deny_multi":"bad2","allow_multi":"good2"}"#)
        .deny(DeniedParameter),
        c(
            "values: a lone * is a literal",
            &[VALUES],
            Update,
            "test/literal-star",
        )
        .data(r#"{"v":"anything"}"#)
        .deny(ParameterNotAllowed),
        c(
            "values: a lone * is a literal",
            &[VALUES],
            Update,
            "test/literal-star",
        )
        .data(r#"{"v":"*"}"#),
        c("values: numbers", &[VALUES], Update, "test/types").data(r#"{"int":1}"#),
        c("values: numbers", &[VALUES], Update, "test/types")
            .data(r#"{"int":3}"#)
            .deny(ParameterNotAllowed),
        c(
            "values: a number given as a string",
            &[VALUES],
            Update,
            "test/types",
        )
        .data(r#"{"int":"2"}"#),
        c("values: booleans", &[VALUES], Update, "test/types").data(r#"{"bool":false}"#),
        c("values: booleans", &[VALUES], Update, "test/types")
            .data(r#"{"bool":true}"#)
            .deny(ParameterNotAllowed),
        c(
            "values: objects compare structurally",
            &[VALUES],
            Update,
            "test/types",
        )
        .data(r#"{"map":{"good":"one"}}"#),
        c(
            "values: objects compare structurally",
            &[VALUES],
            Update,
            "test/types",
        )
        .data(r#"{"map":{"bad":"one"}}"#)
        .deny(ParameterNotAllowed),
        c(
            "values: * key with a listed key keeps that key's values",
            &[VALUES],
            Update,
            "test/star",
        )
        .data(r#"{"bar":true}"#)
        .deny(ParameterNotAllowed),
        c(
            "values: * key with a listed key keeps that key's values",
            &[VALUES],
            Update,
            "test/star",
        )
        .data(r#"{"bar":false,"anything":true}"#),
        // The same verdict whether a value arrives as a string or a list.
        c("string/list: string", &[LISTS], Update, "auth/token/create")
            .data(r#"{"policies":"dev"}"#),
        c(
            "string/list: one-element list",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"policies":["dev"]}"#),
        c(
            "string/list: comma string",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"policies":"dev,ops"}"#),
        c("string/list: list", &[LISTS], Update, "auth/token/create")
            .data(r#"{"policies":["dev","ops"]}"#),
        c(
            "string/list: comma string with a forbidden item",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"policies":"dev,root"}"#)
        .deny(ParameterNotAllowed),
        c(
            "string/list: list with a forbidden item",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"policies":["dev","root"]}"#)
        .deny(ParameterNotAllowed),
        c(
            "string/list: padded item",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"policies":"dev, root"}"#)
        .deny(ParameterNotAllowed),
        c(
            "string/list: empty list is the empty value",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"policies":[]}"#)
        .deny(ParameterNotAllowed),
        c(
            "string/list: empty string is the empty value",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"policies":""}"#)
        .deny(ParameterNotAllowed),
        c(
            "string/list: denied bool as bool",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"no_default_policy":true}"#)
        .deny(DeniedParameter),
        c(
            "string/list: denied bool as string",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"no_default_policy":"true"}"#)
        .deny(DeniedParameter),
        c(
            "string/list: denied bool as list",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"no_default_policy":[true]}"#)
        .deny(DeniedParameter),
        c(
            "string/list: not the denied bool",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"no_default_policy":false}"#),
        c(
            "string/list: denied value in a list",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"meta":["x","root"]}"#)
        .deny(DeniedParameter),
        c(
            "string/list: denied value in a comma string",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"meta":"x,root"}"#)
        .deny(DeniedParameter),
        c(
            "string/list: denied value padded",
            &[LISTS],
            Update,
            "auth/token/create",
        )
        .data(r#"{"meta":" root"}"#)
        .deny(DeniedParameter),
        c(
            "string/list: an allowed value containing a comma is a list of two",
            &[LISTS],
            Update,
            "comma/exact",
        )
        .data(r#"{"v":"a,b"}"#)
        .deny(ParameterNotAllowed),
        c(
            "string/list: an allowed value containing a comma is a list of two",
            &[LISTS],
            Update,
            "comma/exact",
        )
        .data(r#"{"v":["a","b"]}"#)
        .deny(ParameterNotAllowed),
    ]
}

#[test]
fn acl_model_table() {
    let mut failures = Vec::new();
    let cases = cases();
    for (i, case) in cases.iter().enumerate() {
        let acl = acl(&case.policies);
        let got = eval(&acl, &case.req);
        let expected_allowed = case.expect.is_ok();
        let ok = got.allowed == expected_allowed
            && match case.expect {
                Ok(()) => got.denial.is_none(),
                Err(d) => got.denial == Some(d),
            };
        if !ok {
            failures.push(format!(
                "#{i} [{}] {:?} {:?} data={} wrap={:?} sudo={}: expected {:?}, got allowed={} denial={:?}",
                case.rule,
                case.req.op,
                case.req.path,
                case.req.data,
                case.req.wrap,
                case.req.sudo,
                case.expect,
                got.allowed,
                got.denial
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn granting_policies_name_the_policies_that_grant_the_capability() {
    let acl = acl(&[
        READ_SECRET,
        UPDATE_SECRET,
        r#"path "secret/foo" { capabilities = ["read", "list"] }"#,
    ]);
    let r = eval(&acl, &Req::new(Read, "secret/foo"));
    assert_eq!(r.granting_policies, ["p0", "p2"]);
    let r = eval(&acl, &Req::new(Update, "secret/foo"));
    assert_eq!(r.granting_policies, ["p1"]);
}

#[test]
fn sudo_flag_reports_the_matched_rule() {
    let acl = acl(&[r#"path "sys/audit*" { capabilities = ["read", "sudo"] }"#]);
    let r = eval(&acl, &Req::new(Read, "sys/audit/file"));
    assert!(r.allowed && r.sudo);
    let r = eval(&acl, &Req::new(Update, "sys/audit/file"));
    assert!(
        !r.allowed && r.sudo,
        "sudo is reported even when the operation is denied"
    );
}

#[test]
fn root_allows_everything() {
    let root = arca_acl::Acl::root();
    let mut req = Req::new(Delete, "sys/raw/anything");
    req.sudo = true;
    req.wrap = Some(1);
    let r = eval(&root, &req);
    assert!(r.allowed && r.sudo && r.is_root);
    assert_eq!(r.granting_policies, ["root"]);
}

#[test]
fn pagination_limit() {
    let acl = acl(&[r#"path "kv/metadata/*" { capabilities = ["list"]
                                          pagination_limit = 10 }
                    path "strict/*" { capabilities = ["list"]
                                      pagination_limit = 5
                                      required_parameters = ["limit"] }
                    path "free/*" { capabilities = ["list"] }"#]);
    let list = |path: &'static str, data: &str| {
        let mut r = Req::new(List, path);
        r.data = serde_json::from_str(data).unwrap();
        eval(&acl, &r)
    };
    let r = list("kv/metadata/", "null");
    assert!(r.allowed);
    assert_eq!(r.limit_override.as_deref(), Some("10"));
    let r = list("kv/metadata/", r#"{"limit":"5"}"#);
    assert!(r.allowed);
    assert_eq!(r.limit_override, None);
    assert_eq!(
        list("kv/metadata/", r#"{"limit":0}"#)
            .limit_override
            .as_deref(),
        Some("10")
    );
    assert_eq!(
        list("kv/metadata/", r#"{"limit":"max"}"#)
            .limit_override
            .as_deref(),
        Some("10")
    );
    assert_eq!(
        list("kv/metadata/", r#"{"limit":11}"#).denial,
        Some(Denial::PaginationLimit)
    );
    assert_eq!(
        list("kv/metadata/", r#"{"limit":-1}"#).denial,
        Some(Denial::PaginationLimit)
    );
    assert_eq!(
        list("kv/metadata/", r#"{"limit":"ten"}"#).denial,
        Some(Denial::PaginationLimit)
    );
    assert_eq!(
        list("strict/", "null").denial,
        Some(Denial::PaginationLimit)
    );
    assert!(list("strict/", r#"{"limit":5}"#).allowed);
    let r = list("free/", r#"{"limit":"max"}"#);
    assert!(r.allowed);
    assert_eq!(r.limit_override.as_deref(), Some("0"));
    assert_eq!(list("free/", r#"{"limit":"7"}"#).limit_override, None);
}

#[test]
fn response_keys_filter_path_is_reported_for_lists() {
    let acl = acl(&[r#"path "kv/metadata/*" {
        capabilities = ["list", "read"]
        list_scan_response_keys_filter_path = "kv/data/{{ .key }}"
    }"#]);
    let r = eval(&acl, &Req::new(List, "kv/metadata/"));
    assert!(r.allowed);
    assert_eq!(
        r.response_keys_filter_path.as_deref(),
        Some("kv/data/{{ .key }}")
    );
    assert_eq!(
        eval(&acl, &Req::new(Read, "kv/metadata/x")).response_keys_filter_path,
        None
    );
}
