//! Policy-name normalisation, the one function every caller uses.

use arca_acl::{PolicyError, ROOT_POLICY, normalize_policy_name, parse_policy};

#[test]
fn names_are_trimmed_and_lowercased() {
    assert_eq!(normalize_policy_name("MyPol").unwrap(), "mypol");
    assert_eq!(
        normalize_policy_name("  app-Team_1.x  ").unwrap(),
        "app-team_1.x"
    );
    assert_eq!(normalize_policy_name("\tdefault\n").unwrap(), "default");
    assert_eq!(normalize_policy_name("with space").unwrap(), "with space");
    assert_eq!(normalize_policy_name("ÄRGER").unwrap(), "ärger");
}

#[test]
fn variants_of_root_are_root() {
    for variant in [
        "root",
        "ROOT",
        "Root",
        " root",
        "root ",
        "\u{a0}rOoT\u{2003}",
    ] {
        assert_eq!(
            normalize_policy_name(variant).unwrap(),
            ROOT_POLICY,
            "{variant:?}"
        );
        assert_eq!(
            parse_policy(variant, r#"path "*" { capabilities = ["sudo"] }"#).unwrap_err(),
            PolicyError::RootPolicy,
            "{variant:?}"
        );
    }
}

#[test]
fn bad_names_are_refused() {
    assert_eq!(
        normalize_policy_name("").unwrap_err(),
        PolicyError::EmptyName
    );
    assert_eq!(
        normalize_policy_name("   ").unwrap_err(),
        PolicyError::EmptyName
    );
    for bad in ["a/b", "/x", "x/", ".", "..", "a\u{0}b", "a\nb", "a\u{7f}"] {
        assert_eq!(
            normalize_policy_name(bad).unwrap_err(),
            PolicyError::InvalidName,
            "{bad:?}"
        );
    }
}

#[test]
fn parse_policy_stores_the_normalised_name() {
    let p = parse_policy(" Dev-Team ", "").unwrap();
    assert_eq!(p.name, "dev-team");
}
