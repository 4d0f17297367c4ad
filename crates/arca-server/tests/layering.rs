//! Checks the architecture invariants of ARCHITECTURE.md over `cargo metadata`: which
//! Arca crates each crate may depend on. A new internal dependency that breaks a layer
//! fails here, not in review.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Normal (non-dev) dependencies of every workspace crate on other `arca*` crates.
fn internal_deps() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut map = BTreeMap::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let name = pkg["name"].as_str().unwrap().to_owned();
        let deps = pkg["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .filter(|d| d.starts_with("arca"))
            .collect();
        map.insert(name, deps);
    }
    map
}

/// For each crate, the only Arca crates it may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("arca-types", &[]),
    ("arca-crypto", &[]),
    ("arca-storage", &[]),
    ("arca-acl", &[]),
    ("arca-shamir", &["arca-crypto"]),
    // The password-policy generator, shared by the core and the database engine.
    ("arca-password-policy", &["arca-crypto"]),
    // Vault's username-template language, shared by the engines that create users.
    ("arca-username-template", &["arca-crypto"]),
    ("arca-logical", &["arca-storage", "arca-types"]),
    ("arca-storage-redb", &["arca-storage"]),
    ("arca-barrier", &["arca-crypto", "arca-storage"]),
    ("arca-config", &[]),
    // Plug-ins see only the SDK, the storage trait, wire types and crypto: never the core,
    // the barrier, HTTP, or each other.
    (
        "arca-engine-kv",
        &["arca-logical", "arca-storage", "arca-types", "arca-crypto"],
    ),
    (
        "arca-engine-cubbyhole",
        &["arca-logical", "arca-storage", "arca-types", "arca-crypto"],
    ),
    (
        "arca-token",
        &[
            "arca-logical",
            "arca-storage",
            "arca-types",
            "arca-crypto",
            "arca-acl",
            // Shares the CIDR rules with the auth methods.
            "arca-auth-common",
        ],
    ),
    (
        "arca-expiration",
        &["arca-logical", "arca-storage", "arca-types", "arca-crypto"],
    ),
    (
        "arca-identity",
        &["arca-logical", "arca-storage", "arca-types", "arca-crypto"],
    ),
    (
        "arca-engine-transit",
        &["arca-logical", "arca-storage", "arca-types", "arca-crypto"],
    ),
    (
        "arca-engine-database",
        &[
            "arca-logical",
            "arca-storage",
            "arca-types",
            "arca-crypto",
            "arca-password-policy",
            "arca-username-template",
        ],
    ),
    (
        "arca-engine-rabbitmq",
        &[
            "arca-logical",
            "arca-storage",
            "arca-types",
            "arca-crypto",
            "arca-password-policy",
            "arca-username-template",
        ],
    ),
    (
        "arca-auth-common",
        &["arca-logical", "arca-storage", "arca-types", "arca-crypto"],
    ),
    (
        "arca-auth-userpass",
        &[
            "arca-logical",
            "arca-storage",
            "arca-types",
            "arca-crypto",
            "arca-auth-common",
        ],
    ),
    (
        "arca-auth-approle",
        &[
            "arca-logical",
            "arca-storage",
            "arca-types",
            "arca-crypto",
            "arca-auth-common",
        ],
    ),
    (
        "arca-auth-jwt",
        &[
            "arca-logical",
            "arca-storage",
            "arca-types",
            "arca-crypto",
            "arca-auth-common",
        ],
    ),
    (
        "arca-auth-cert",
        &[
            "arca-logical",
            "arca-storage",
            "arca-types",
            "arca-crypto",
            "arca-auth-common",
        ],
    ),
    (
        "arca-audit",
        &["arca-logical", "arca-storage", "arca-types", "arca-crypto"],
    ),
    ("arca-client", &["arca-types"]),
    // The transit seal is a client: the server adapts it to the core's seal trait.
    ("arca-seal-transit", &[]),
];

/// Crates that must not know HTTP frameworks.
const NO_HTTP: &[&str] = &[
    "arca-types",
    "arca-logical",
    "arca-crypto",
    "arca-storage",
    "arca-barrier",
    "arca-core",
    "arca-acl",
    "arca-engine-kv",
    "arca-engine-cubbyhole",
    "arca-token",
    "arca-expiration",
    "arca-identity",
    "arca-engine-transit",
    "arca-engine-database",
    "arca-password-policy",
    "arca-username-template",
    "arca-audit",
    "arca-auth-common",
    "arca-auth-userpass",
    "arca-auth-approle",
];

#[test]
fn internal_dependencies_respect_the_layers() {
    let deps = internal_deps();
    for (krate, allowed) in ALLOWED {
        let Some(actual) = deps.get(*krate) else {
            continue;
        };
        for d in actual {
            assert!(
                allowed.contains(&d.as_str()),
                "{krate} must not depend on {d} (see ARCHITECTURE.md)"
            );
        }
    }
    // Only the server wiring and the binary may depend on the HTTP crate.
    for (krate, actual) in &deps {
        if actual.contains("arca-http") {
            assert!(
                matches!(krate.as_str(), "arca-server" | "arca"),
                "{krate} depends on arca-http; only the server wiring may"
            );
        }
    }
}

#[test]
fn only_http_crates_know_http() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success());
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let nodes = meta["resolve"]["nodes"].as_array().unwrap();
    let by_id: BTreeMap<&str, &Value> = nodes
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    for node in nodes {
        let name = &names[node["id"].as_str().unwrap()];
        if !NO_HTTP.contains(&name.as_str()) {
            continue;
        }
        // Walk normal dependencies transitively.
        let mut stack: Vec<&str> = vec![node["id"].as_str().unwrap()];
        let mut seen = BTreeSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            for dep in by_id[id]["deps"].as_array().unwrap() {
                let normal = dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null());
                if !normal {
                    continue;
                }
                let dep_name = &names[dep["pkg"].as_str().unwrap()];
                assert!(
                    !matches!(
                        dep_name.as_str(),
                        "axum" | "hyper" | "reqwest" | "tower-http"
                    ),
                    "{name} reaches {dep_name}: only arca-http, arca-server and clients may know HTTP"
                );
                stack.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
}
