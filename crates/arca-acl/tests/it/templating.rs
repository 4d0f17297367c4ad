//! Templated paths: what resolves, what drops the stanza, what is blocked.

use std::collections::BTreeMap;
use std::time::Duration;

use arca_acl::{Acl, Operation::*, Policy, PolicyError, TemplateContext, parse_policy};

use crate::support::{Req, acl_with, eval, now};

fn ctx() -> TemplateContext {
    TemplateContext {
        entity_id: Some("ent-1".into()),
        entity_name: Some("alice".into()),
        entity_metadata: BTreeMap::from([
            ("team".into(), "blue".into()),
            ("empty".into(), String::new()),
        ]),
        alias_names_by_mount_accessor: BTreeMap::from([(
            "auth_userpass_1".into(),
            "alice-up".into(),
        )]),
        alias_ids_by_mount_accessor: BTreeMap::from([("auth_userpass_1".into(), "alias-9".into())]),
        alias_metadata_by_mount_accessor: BTreeMap::from([(
            "auth_userpass_1".into(),
            BTreeMap::from([("region".into(), "eu".into())]),
        )]),
        alias_custom_metadata_by_mount_accessor: BTreeMap::from([(
            "auth_userpass_1".into(),
            BTreeMap::from([("cost".into(), "42".into())]),
        )]),
        group_ids: vec!["g-1".into(), "g-2".into()],
        group_names: vec!["devs".into(), "ops".into()],
        group_metadata_by_id: BTreeMap::from([(
            "g-2".into(),
            BTreeMap::from([("site".into(), "lon".into())]),
        )]),
    }
}

/// (pattern, the path it should become under `ctx()`, or None when the stanza drops).
const CASES: &[(&str, Option<&str>)] = &[
    (
        "secret/data/{{identity.entity.id}}/*",
        Some("secret/data/ent-1/x"),
    ),
    (
        "secret/data/{{ identity.entity.name }}",
        Some("secret/data/alice"),
    ),
    ("m/{{identity.entity.metadata.team}}", Some("m/blue")),
    ("m/{{identity.entity.metadata.missing}}", None),
    ("m/{{identity.entity.metadata}}", None),
    (
        "a/{{identity.entity.aliases.auth_userpass_1.name}}",
        Some("a/alice-up"),
    ),
    (
        "a/{{identity.entity.aliases.auth_userpass_1.id}}",
        Some("a/alias-9"),
    ),
    (
        "a/{{identity.entity.aliases.auth_userpass_1.metadata.region}}",
        Some("a/eu"),
    ),
    (
        "a/{{identity.entity.aliases.auth_userpass_1.custom_metadata.cost}}",
        Some("a/42"),
    ),
    ("a/{{identity.entity.aliases.auth_other.name}}", None),
    ("a/{{identity.entity.aliases.auth_userpass_1}}", None),
    ("g/{{identity.groups.ids.g-1.name}}", Some("g/devs")),
    ("g/{{identity.groups.names.ops.id}}", Some("g/g-2")),
    (
        "g/{{identity.groups.names.ops.metadata.site}}",
        Some("g/lon"),
    ),
    ("g/{{identity.groups.names.nobody.id}}", None),
    ("g/{{identity.entity.groups.names}}", None),
    ("x/{{identity.entity.unknown}}", None),
    ("x/{{not.a.directive}}", None),
    ("x/{{}}", None),
    (
        "two/{{identity.entity.id}}/{{identity.entity.name}}",
        Some("two/ent-1/alice"),
    ),
];

#[test]
fn directives_resolve_or_drop_the_stanza() {
    for (pattern, expected) in CASES {
        let text = format!("path \"{pattern}\" {{ capabilities = [\"read\"] }}");
        let acl = acl_with(&[text.as_str()], &ctx());
        match expected {
            Some(path) => {
                assert_eq!(
                    acl.capabilities(path),
                    ["read"],
                    "{pattern} should grant {path}"
                );
            }
            None => {
                let rendered = acl.resultant_acl();
                assert_eq!(
                    rendered["exact_paths"],
                    serde_json::json!({}),
                    "{pattern} should drop"
                );
                assert_eq!(
                    rendered["glob_paths"],
                    serde_json::json!({}),
                    "{pattern} should drop"
                );
            }
        }
    }
}

#[test]
fn no_entity_drops_entity_stanzas_but_keeps_the_rest() {
    let text = r#"path "secret/{{identity.entity.id}}/*" { capabilities = ["read"] }
                  path "shared/*" { capabilities = ["read"] }"#;
    let acl = acl_with(&[text], &TemplateContext::default());
    assert!(!eval(&acl, &Req::new(Read, "secret/ent-1/x")).allowed);
    assert!(eval(&acl, &Req::new(Read, "shared/x")).allowed);
    // An id-less context must not turn `secret/{{…}}/*` into `secret//*`.
    assert!(!eval(&acl, &Req::new(Read, "secret//x")).allowed);
}

#[test]
fn other_entities_do_not_match() {
    let acl = acl_with(
        &[r#"path "secret/data/{{identity.entity.id}}/*" { capabilities = ["read"] }"#],
        &ctx(),
    );
    assert!(eval(&acl, &Req::new(Read, "secret/data/ent-1/k")).allowed);
    assert!(!eval(&acl, &Req::new(Read, "secret/data/ent-2/k")).allowed);
}

fn with_flags(text: &str, slashes: bool, wildcards: bool) -> Policy {
    let mut p = parse_policy("t", text).unwrap();
    p.allow_slashes_in_identity_templates = slashes;
    p.allow_wildcards_in_identity_templates = wildcards;
    p
}

#[test]
fn slashes_and_wildcards_in_values_are_blocked_by_default() {
    let text = r#"path "kv/{{identity.entity.name}}" { capabilities = ["read"] }"#;
    for (name, path) in [
        ("team/alice", "kv/team/alice"),
        ("al*", "kv/al*"),
        ("a+b", "kv/a+b"),
    ] {
        let ctx = TemplateContext {
            entity_id: Some("e".into()),
            entity_name: Some(name.into()),
            ..TemplateContext::default()
        };
        let p = with_flags(text, false, false);
        let acl = Acl::new_at(&[&p], &ctx, now()).unwrap();
        assert_eq!(acl.capabilities(path), ["deny"], "{name} must be blocked");
    }
    let slash = TemplateContext {
        entity_id: Some("e".into()),
        entity_name: Some("team/alice".into()),
        ..TemplateContext::default()
    };
    let p = with_flags(text, true, false);
    assert_eq!(
        Acl::new_at(&[&p], &slash, now())
            .unwrap()
            .capabilities("kv/team/alice"),
        ["read"]
    );
    // With wildcards allowed, a substituted `*` widens the pattern (the author opted in).
    let star = TemplateContext {
        entity_id: Some("e".into()),
        entity_name: Some("team-*".into()),
        ..TemplateContext::default()
    };
    let p = with_flags(text, false, true);
    assert_eq!(
        Acl::new_at(&[&p], &star, now())
            .unwrap()
            .capabilities("kv/team-x/y"),
        ["read"]
    );
    // And a substitution that forms `+*` is an error, as OpenBao's re-parse is.
    let plus = TemplateContext {
        entity_id: Some("e".into()),
        entity_name: Some("+".into()),
        ..TemplateContext::default()
    };
    let p = with_flags(
        r#"path "kv/{{identity.entity.name}}*" { capabilities = ["read"] }"#,
        false,
        true,
    );
    assert_eq!(
        Acl::new_at(&[&p], &plus, now()).unwrap_err(),
        PolicyError::TemplatedPath
    );
}

#[test]
fn time_templates_make_the_acl_single_use() {
    let p = parse_policy(
        "t",
        r#"path "t/{{time.now}}" { capabilities = ["read"] }
                                 path "u/{{time.now.plus.1h}}" { capabilities = ["read"] }
                                 path "v/{{time.now.minus.60}}" { capabilities = ["read"] }
                                 path "w/{{time.later}}" { capabilities = ["read"] }"#,
    )
    .unwrap();
    let acl = Acl::new_at(&[&p], &TemplateContext::default(), now()).unwrap();
    assert_eq!(acl.capabilities("t/1767225600"), ["read"]);
    assert_eq!(acl.capabilities("u/1767229200"), ["read"]);
    assert_eq!(acl.capabilities("v/1767225540"), ["read"]);
    assert_eq!(acl.valid_until(), Some(now()));
}

#[test]
fn expiration_sets_valid_until() {
    let p = parse_policy(
        "t",
        r#"path "a" { capabilities = ["read"]
                                          expiration = "2026-06-01T00:00:00Z" }
                                 path "b" { capabilities = ["read"]
                                          expiration = 1780000000 }
                                 path "c" { capabilities = ["read"] }"#,
    )
    .unwrap();
    let acl = Acl::new_at(&[&p], &TemplateContext::default(), now()).unwrap();
    assert_eq!(
        acl.valid_until(),
        Some(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000))
    );
    assert_eq!(acl.capabilities("a"), ["read"]);
    let later = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_272_001);
    let acl = Acl::new_at(&[&p], &TemplateContext::default(), later).unwrap();
    assert_eq!(acl.capabilities("a"), ["deny"]);
    assert_eq!(acl.capabilities("c"), ["read"]);
    assert_eq!(
        Acl::new_at(
            &[&parse_policy("t", r#"path "c" { capabilities = ["read"] }"#).unwrap()],
            &TemplateContext::default(),
            now()
        )
        .unwrap()
        .valid_until(),
        None
    );
}

#[test]
fn root_policy_only_alone() {
    let root = Policy::root();
    let other = parse_policy("dev", r#"path "*" { capabilities = ["read"] }"#).unwrap();
    let acl = Acl::new_at(&[&root], &TemplateContext::default(), now()).unwrap();
    assert!(acl.is_root());
    let acl = Acl::new_at(
        &[&root, &Policy::root()],
        &TemplateContext::default(),
        now(),
    )
    .unwrap();
    assert!(acl.is_root());
    assert_eq!(
        Acl::new_at(&[&root, &other], &TemplateContext::default(), now()).unwrap_err(),
        PolicyError::RootWithOtherPolicies
    );
    // A stored policy can never be root, whatever it is called.
    assert!(
        !Acl::new_at(&[&other], &TemplateContext::default(), now())
            .unwrap()
            .is_root()
    );
}
