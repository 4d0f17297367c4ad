//! `Acl::capabilities`, `Acl::has_mount_access` and `Acl::resultant_acl`.

use arca_acl::Acl;

use crate::support::acl;

#[test]
fn capabilities_are_sorted_and_deny_when_nothing_matches() {
    let acl = acl(&[
        r#"path "secret/data/app/*" { capabilities = ["read", "list", "sudo", "create"] }
           path "secret/metadata/x" { capabilities = ["list"] }
           path "secret/data/app/blocked" { capabilities = ["deny"] }
           path "empty" { capabilities = [] }"#,
    ]);
    assert_eq!(
        acl.capabilities("secret/data/app/one"),
        ["create", "list", "read", "sudo"]
    );
    assert_eq!(acl.capabilities("secret/data/other"), ["deny"]);
    assert_eq!(acl.capabilities("secret/data/app/blocked"), ["deny"]);
    assert_eq!(acl.capabilities("empty"), ["deny"]);
    // Looked up like a list: the trailing slash falls back to the exact rule.
    assert_eq!(acl.capabilities("secret/metadata/x/"), ["list"]);
    assert_eq!(acl.capabilities("/secret/metadata/x"), ["list"]);
    assert_eq!(Acl::root().capabilities("anything"), ["root"]);
}

#[test]
fn every_capability_name_is_reported() {
    let acl = acl(&[
        r#"path "all" { capabilities = ["create", "read", "update", "patch", "delete", "list", "scan", "sudo"] }"#,
    ]);
    assert_eq!(
        acl.capabilities("all"),
        [
            "create", "delete", "list", "patch", "read", "scan", "sudo", "update"
        ]
    );
}

#[test]
fn mount_access_follows_hasmountaccess() {
    let acl = acl(&[r#"path "secret/data/app/*" { capabilities = ["read"] }
                       path "denied/*" { capabilities = ["deny"] }
                       path "exact/deep/key" { capabilities = ["update"] }"#]);
    assert!(
        acl.has_mount_access("secret/"),
        "a glob rule under the mount"
    );
    assert!(
        acl.has_mount_access("exact/"),
        "an exact rule under the mount"
    );
    assert!(!acl.has_mount_access("denied/"));
    assert!(!acl.has_mount_access("other/"));
    assert!(Acl::root().has_mount_access("anything/"));
    // A rule on the mount path itself.
    let direct = crate::support::acl(&[r#"path "kv/*" { capabilities = ["list"] }"#]);
    assert!(direct.has_mount_access("kv/"));
}

#[test]
fn mount_access_for_segment_wildcards() {
    // OpenBao's TestACL_SegmentWildcardPriority_BareMount, plus misses.
    let cases: &[(&str, &str, bool)] = &[
        (r#"path "+" { capabilities = ["read"] }"#, "foo/", true),
        (r#"path "+/*" { capabilities = ["read"] }"#, "foo/", true),
        (
            r#"path "foo/+/+/*" { capabilities = ["read"] }"#,
            "foo/",
            true,
        ),
        (
            r#"path "foo/+/+/*" { capabilities = ["read"] }"#,
            "foo/bar/",
            true,
        ),
        (
            r#"path "foo/+/+/*" { capabilities = ["read"] }"#,
            "foo/bar/bar/",
            true,
        ),
        (
            r#"path "foo/+/+/*" { capabilities = ["read"] }"#,
            "foo/bar/bar/baz/",
            true,
        ),
        (
            r#"path "foo/+/+/baz" { capabilities = ["read"] }"#,
            "foo/bar/bar/baz/",
            true,
        ),
        (
            r#"path "foo/+/bar/baz" { capabilities = ["read"] }"#,
            "foo/bar/bar/baz/",
            true,
        ),
        (
            r#"path "foo/bar/+/baz*" { capabilities = ["read"] }"#,
            "foo/bar/bar/baz/",
            true,
        ),
        (
            r#"path "foo/bar/+/b*" { capabilities = ["read"] }"#,
            "foo/bar/bar/baz/",
            true,
        ),
        (r#"path "foo/+" { capabilities = ["read"] }"#, "foo/", true),
        (r#"path "foo/+" { capabilities = ["read"] }"#, "bar/", false),
        (r#"path "foo/+" { capabilities = ["deny"] }"#, "foo/", false),
        (
            r#"path "foo/+" { capabilities = ["read"] }"#,
            "foo/bar/baz/",
            false,
        ),
    ];
    for (policy, mount, expected) in cases {
        let acl = crate::support::acl(&[policy]);
        assert_eq!(
            acl.has_mount_access(mount),
            *expected,
            "{policy} on {mount}"
        );
    }
}

#[test]
fn resultant_acl_shape() {
    let acl = acl(&[
        r#"path "secret/data/app/*" { capabilities = ["read", "list"] }
                       path "auth/token/lookup-self" { capabilities = ["read"] }
                       path "w" { capabilities = ["update"]
                                  max_wrapping_ttl = "90s"
                                  allowed_parameters = { color = ["red"] }
                                  required_parameters = ["color"] }
                       path "x/+/y" { capabilities = ["read"] }"#,
    ]);
    let expected = serde_json::json!({
        "root": false,
        "exact_paths": {
            "auth/token/lookup-self": {"capabilities": ["read"]},
            "w": {"capabilities": ["update"], "max_wrapping_ttl": 90,
                  "allowed_parameters": {"color": ["red"]}, "required_parameters": ["color"]}
        },
        "glob_paths": {"secret/data/app/": {"capabilities": ["list", "read"]}}
    });
    assert_eq!(acl.resultant_acl(), expected);
    assert_eq!(
        Acl::root().resultant_acl(),
        serde_json::json!({"root": true})
    );
}

#[test]
fn acl_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Acl>();
    assert_send_sync::<arca_acl::Policy>();
}
