//! Parsing: HCL, JSON, the legacy form, duplicate stanzas, errors, comments.

use arca_acl::{Operation::*, PolicyError, parse_policy};

use crate::support::{Req, acl, eval};

fn err(text: &str) -> PolicyError {
    parse_policy("p", text).unwrap_err()
}

#[test]
fn hcl_and_json_mean_the_same() {
    let hcl = r#"
path "secret/data/*" {
  capabilities        = ["create", "read", "update"]
  allowed_parameters  = { "color" = ["red"], "*" = [] }
  denied_parameters   = { "secret" = [] }
  required_parameters = ["color"]
  min_wrapping_ttl    = "1s"
  max_wrapping_ttl    = 90
}
path "secret/+/teamb" { capabilities = ["read"] }
"#;
    let json = r#"{"path": {
        "secret/data/*": {
            "capabilities": ["create", "read", "update"],
            "allowed_parameters": {"color": ["red"], "*": []},
            "denied_parameters": {"secret": []},
            "required_parameters": ["color"],
            "min_wrapping_ttl": "1s",
            "max_wrapping_ttl": 90
        },
        "secret/+/teamb": {"capabilities": ["read"]}
    }}"#;
    let reqs = [
        (
            Update,
            "secret/data/x",
            r#"{"color":"red","size":1}"#,
            Some(30),
        ),
        (Update, "secret/data/x", r#"{"color":"blue"}"#, Some(30)),
        (Update, "secret/data/x", r#"{"color":"red"}"#, None),
        (
            Update,
            "secret/data/x",
            r#"{"color":"red","secret":1}"#,
            Some(30),
        ),
        (Read, "secret/a/teamb", "null", None),
        (Read, "secret/a/b/teamb", "null", None),
    ];
    let (a, b) = (acl(&[hcl]), acl(&[json]));
    for (op, path, data, wrap) in reqs {
        let mut r = Req::new(op, path);
        r.data = serde_json::from_str(data).unwrap();
        r.wrap = wrap;
        assert_eq!(eval(&a, &r), eval(&b, &r), "{op:?} {path} {data}");
    }
    assert_eq!(a.resultant_acl(), b.resultant_acl());
}

#[test]
fn json_repeated_blocks_as_lists() {
    let json = r#"{"path": [
        {"a": {"capabilities": ["read"]}},
        {"a": [{"capabilities": ["list"]}, {"capabilities": ["update"]}]}
    ]}"#;
    let acl = acl(&[json]);
    assert_eq!(acl.capabilities("a"), ["list", "read", "update"]);
}

#[test]
fn duplicate_stanzas_merge() {
    let acl = acl(&[r#"
path "kv/x" { capabilities = ["read"] }
path "kv/x" {
  capabilities = ["update"]
  allowed_parameters = { a = [] }
}
path "kv/x" { capabilities = ["deny"] }
path "kv/y" { capabilities = ["read"] }
path "kv/y" { capabilities = ["list"] }
"#]);
    assert_eq!(acl.capabilities("kv/x"), ["deny"]);
    assert_eq!(acl.capabilities("kv/y"), ["list", "read"]);
}

#[test]
fn legacy_policy_form() {
    let acl = acl(&[r#"
path "r" { policy = "read" }
path "w" { policy = "write" }
path "s" { policy = "sudo" }
path "d" { policy = "deny" }
path "mix" {
  policy       = "read"
  capabilities = ["patch"]
}
"#]);
    assert_eq!(acl.capabilities("r"), ["list", "read"]);
    assert_eq!(
        acl.capabilities("w"),
        ["create", "delete", "list", "read", "update"]
    );
    assert_eq!(
        acl.capabilities("s"),
        ["create", "delete", "list", "read", "sudo", "update"]
    );
    assert_eq!(acl.capabilities("d"), ["deny"]);
    assert_eq!(acl.capabilities("mix"), ["list", "patch", "read"]);
    assert_eq!(
        err(r#"path "x" { policy = "admin" }"#),
        PolicyError::InvalidLegacyPolicy { stanza: 1 }
    );
}

#[test]
fn unknown_capabilities_are_rejected() {
    assert_eq!(
        err(r#"path "ok" { capabilities = ["read"] }
               path "x" { capabilities = ["read", "subscribe"] }"#),
        PolicyError::InvalidCapability { stanza: 2 }
    );
    assert_eq!(
        err(r#"path "x" { capabilities = ["root"] }"#),
        PolicyError::InvalidCapability { stanza: 1 }
    );
    assert_eq!(
        err(r#"path "x" { capabilities = ["READ"] }"#),
        PolicyError::InvalidCapability { stanza: 1 }
    );
    // Stricter than OpenBao, which stops validating at `deny`.
    assert_eq!(
        err(r#"path "x" { capabilities = ["deny", "bogus"] }"#),
        PolicyError::InvalidCapability { stanza: 1 }
    );
    assert_eq!(
        err(r#"{"path":{"x":{"capabilities":["subscribe"]}}}"#),
        PolicyError::InvalidCapability { stanza: 1 }
    );
    // `scan` (OpenBao) and `patch` are valid.
    parse_policy("p", r#"path "x" { capabilities = ["scan", "patch"] }"#).unwrap();
}

#[test]
fn unknown_keys_are_rejected() {
    assert_eq!(
        err(r#"path "x" { capabilites = ["read"] }"#),
        PolicyError::UnknownPathKey { stanza: 1 }
    );
    assert_eq!(
        err(r#"paths "x" { capabilities = ["read"] }"#),
        PolicyError::UnknownTopLevelKey
    );
    assert_eq!(
        err(r#"{"path":{"x":{"capabilities":["read"],"bogus":1}}}"#),
        PolicyError::UnknownPathKey { stanza: 1 }
    );
    assert_eq!(
        err(r#"path "a" "b" { capabilities = ["read"] }"#),
        PolicyError::UnknownPathKey { stanza: 1 }
    );
    assert_eq!(
        err(r#"path = "x""#),
        PolicyError::MalformedStanza { stanza: 1 }
    );
    assert_eq!(
        err(r#"{"path":{"x":"read"}}"#),
        PolicyError::MalformedStanza { stanza: 1 }
    );
    assert!(
        err(r#"[1]"#)
            .to_string()
            .starts_with("failed to parse policy")
    );
}

#[test]
fn all_openbao_keys_are_accepted() {
    let p = parse_policy(
        "p",
        r#"
name = "ignored"
path "transit/keys/*" {
  comment             = "free text"
  capabilities        = ["create", "update", "list"]
  allowed_parameters  = { "auto_rotate_period" = ["8h", "24h"], "*" = [] }
  denied_parameters   = { "exportable" = [] }
  required_parameters = ["type"]
  min_wrapping_ttl    = "1s"
  max_wrapping_ttl    = "90s"
  expiration          = "2030-01-02T15:04:05Z"
  mfa_methods         = ["totp"]
  pagination_limit    = "100"
  list_scan_response_keys_filter_path = "transit/keys/{{ .key }}"
  control_group {
    ttl = "4h"
    factor "ops" {
      identity { group_names = ["ops"] }
    }
  }
}
"#,
    )
    .unwrap();
    assert_eq!(p.patterns().collect::<Vec<_>>(), ["transit/keys/*"]);
    assert!(!p.is_templated());
}

#[test]
fn hcl1_style_nested_blocks_for_maps() {
    let acl = acl(&[r#"
path "p" {
  capabilities = ["update"]
  allowed_parameters {
    color = ["red"]
  }
}"#]);
    let mut r = Req::new(Update, "p");
    r.data = serde_json::json!({"color": "blue"});
    assert!(!eval(&acl, &r).allowed);
    r.data = serde_json::json!({"color": "red"});
    assert!(eval(&acl, &r).allowed);
}

#[test]
fn comments_and_layout() {
    let acl = acl(&[r#"
# hash comment
// slash comment
/* block
   comment */
path "a" {
  capabilities = [
    "read",   # trailing
    "list",
  ]
}
path "b" { capabilities = ["read"] }
"#]);
    assert_eq!(acl.capabilities("a"), ["list", "read"]);
    assert_eq!(acl.capabilities("b"), ["read"]);
}

#[test]
fn empty_policies_are_valid() {
    for text in [
        "",
        "   \n",
        "# nothing\n",
        "{}",
        r#"{"path":{}}"#,
        r#"name = "x""#,
    ] {
        let p = parse_policy("p", text).unwrap();
        assert_eq!(p.patterns().count(), 0, "{text:?}");
        assert_eq!(p.raw, text);
    }
}

#[test]
fn syntax_errors_locate_without_echoing() {
    let e = err("path \"x\" {\n  capabilities = [\"read\"\n");
    assert!(
        matches!(
            e,
            PolicyError::Syntax { line: 3, .. } | PolicyError::Syntax { line: 2, .. }
        ),
        "{e:?}"
    );
    let e = err("{\"path\": {\"x\": }}");
    assert!(matches!(e, PolicyError::Syntax { line: 1, .. }), "{e:?}");
    // No error message repeats what the author wrote.
    for text in [
        r#"path "sekrit-path" { capabilities = ["sekrit-cap"] }"#,
        r#"path "sekrit-path" { sekrit-key = 1 }"#,
        r#"path "sekrit-path" { min_wrapping_ttl = "sekrit" }"#,
        "sekrit {{{",
        r#"{"sekrit": 1}"#,
    ] {
        let message = err(text).to_string();
        assert!(!message.contains("sekrit"), "{message}");
        assert!(message.starts_with("failed to parse policy"), "{message}");
    }
}

#[test]
fn pattern_errors() {
    assert_eq!(
        err(r#"path "secret/+*" { capabilities = ["read"] }"#),
        PolicyError::PlusGlob { stanza: 1 }
    );
    assert_eq!(
        err(r#"path "a/{{identity.entity.id}" { capabilities = ["read"] }"#),
        PolicyError::UnbalancedTemplate { stanza: 1 }
    );
    assert_eq!(
        err(r#"path "a/}}x{{y}}" { capabilities = ["read"] }"#),
        PolicyError::UnbalancedTemplate { stanza: 1 }
    );
    assert_eq!(
        err(r#"path "a/{{x}}}}" { capabilities = ["read"] }"#),
        PolicyError::UnbalancedTemplate { stanza: 1 }
    );
}

#[test]
fn value_errors() {
    assert_eq!(
        err(r#"path "x" { capabilities = ["read"]
                          min_wrapping_ttl = "90s"
                          max_wrapping_ttl = "60s" }"#),
        PolicyError::WrappingTtlBounds { stanza: 1 }
    );
    assert_eq!(
        err(r#"path "x" { min_wrapping_ttl = "soon" }"#),
        PolicyError::InvalidValue {
            stanza: 1,
            field: "min_wrapping_ttl"
        }
    );
    assert_eq!(
        err(r#"path "x" { max_wrapping_ttl = "-5s" }"#),
        PolicyError::InvalidValue {
            stanza: 1,
            field: "max_wrapping_ttl"
        }
    );
    assert_eq!(
        err(r#"path "x" { expiration = "next tuesday" }"#),
        PolicyError::InvalidValue {
            stanza: 1,
            field: "expiration"
        }
    );
    assert_eq!(
        err(r#"path "x" { capabilities = "read,list" }"#),
        PolicyError::InvalidCapability { stanza: 1 }
    );
    assert_eq!(
        err(r#"path "x" { capabilities = [1] }"#),
        PolicyError::InvalidValue {
            stanza: 1,
            field: "capabilities"
        }
    );
    assert_eq!(
        err(r#"path "x" { allowed_parameters = ["a"] }"#),
        PolicyError::InvalidValue {
            stanza: 1,
            field: "allowed_parameters"
        }
    );
    assert_eq!(
        err(r#"path "x" { capabilities = ["read"]
                          list_scan_response_keys_filter_path = "x/{{ .key }}" }"#),
        PolicyError::FilterPathWithoutList { stanza: 1 }
    );
    assert_eq!(
        err(r#"path "x" { capabilities = [var.x] }"#),
        PolicyError::UnsupportedExpression
    );
}

#[test]
fn lenient_forms_hcl1_accepted() {
    // A lone string for a list, numbers for durations, attributes on the line of the `{`,
    // `${…}` in a value kept literally (HCL1 has no interpolation).
    let acl = acl(&[r#"
path "one" { capabilities = "read" }
path "lit" { capabilities = ["update"]
             allowed_parameters = { v = ["${x}"] } }
path "ttl" {
  capabilities = ["read"]
  max_wrapping_ttl = 60
  min_wrapping_ttl = "1m"
}"#]);
    assert_eq!(acl.capabilities("one"), ["read"]);
    let mut r = Req::new(Update, "lit");
    r.data = serde_json::json!({"v": "${x}"});
    assert!(eval(&acl, &r).allowed);
    let mut r = Req::new(Read, "ttl");
    r.wrap = Some(60);
    assert!(eval(&acl, &r).allowed);
}

#[test]
fn deny_stanza_ignores_its_other_fields() {
    let p = r#"path "x" { capabilities = ["deny"]
                         allowed_parameters = { a = [] } }"#;
    let acl = acl(&[p]);
    assert_eq!(
        acl.resultant_acl()["exact_paths"]["x"],
        serde_json::json!({"capabilities": ["deny"]})
    );
}
