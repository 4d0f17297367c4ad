//! Configs that must load, and what they load to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use arca_config::{ListenerConfig, Location, TlsVersion, UNLIMITED_REQUEST_SIZE};
use serde_json::json;

use crate::ok;

/// vault-api.md §9.1's first example, with embedded storage in place of raft.
const VAULT_EXAMPLE_HCL: &str = r#"# Embedded storage, Shamir (the default seal), plain HTTP
storage "embedded" {
  path    = "/var/lib/arca"
  node_id = "node1"
}
listener "tcp" {
  address         = "127.0.0.1:8523"     # default 127.0.0.1:8200
  cluster_address = "127.0.0.1:8524"     # default 127.0.0.1:8201
  tls_disable     = true                 # otherwise tls_cert_file + tls_key_file are required
}
api_addr     = "http://127.0.0.1:8523"   # advertised to clients
cluster_addr = "https://127.0.0.1:8524"  # node-to-node
ui           = false
disable_mlock = true
audit "file" "file" { options { file_path = "/var/log/arca/audit.log" } }
"#;

/// The same config in Vault's JSON form.
const VAULT_EXAMPLE_JSON: &str = r#"{
  "storage": {"embedded": {"path": "/var/lib/arca", "node_id": "node1"}},
  "listener": {"tcp": {
    "address": "127.0.0.1:8523",
    "cluster_address": "127.0.0.1:8524",
    "tls_disable": true
  }},
  "api_addr": "http://127.0.0.1:8523",
  "cluster_addr": "https://127.0.0.1:8524",
  "ui": false,
  "disable_mlock": true,
  "audit": {"file": {"file": {"options": {"file_path": "/var/log/arca/audit.log"}}}}
}
"#;

fn location(file: &str, line: usize) -> Location {
    Location {
        file: PathBuf::from(file),
        line,
    }
}

#[test]
fn vault_example_hcl_and_json_agree() {
    for (name, text, storage_line, listener_line, audit_line) in [
        ("example.hcl", VAULT_EXAMPLE_HCL, 2, 6, 15),
        ("example.json", VAULT_EXAMPLE_JSON, 2, 3, 12),
    ] {
        let loaded = ok(name, text);
        assert_eq!(loaded.warnings, Vec::<String>::new(), "{name}");
        let c = loaded.config;

        let storage = c.storage.as_ref().unwrap();
        assert_eq!(storage.kind, "embedded");
        assert_eq!(storage.options["path"], "/var/lib/arca");
        assert_eq!(storage.options["node_id"], "node1");
        assert_eq!(storage.source, location(name, storage_line), "{name}");

        let mut want = ListenerConfig::tcp("127.0.0.1:8523", location(name, listener_line));
        want.cluster_address = Some("127.0.0.1:8524".into());
        want.tls_disable = true;
        assert_eq!(c.listeners, vec![want], "{name}");

        assert_eq!(c.api_addr.as_deref(), Some("http://127.0.0.1:8523"));
        assert_eq!(c.cluster_addr.as_deref(), Some("https://127.0.0.1:8524"));
        assert!(!c.ui);
        assert!(c.disable_mlock);

        assert_eq!(c.audits.len(), 1);
        assert_eq!(c.audits[0].labels, vec!["file", "file"]);
        assert_eq!(
            c.audits[0].body,
            json!({"options": {"file_path": "/var/log/arca/audit.log"}})
        );
        assert_eq!(c.audits[0].source, location(name, audit_line), "{name}");
    }
}

#[test]
fn listener_defaults() {
    let text = "listener \"tcp\" {\n  tls_cert_file = \"/c.pem\"\n  tls_key_file = \"/k.pem\"\n}\n";
    let c = ok("d.hcl", text).config;
    let l = &c.listeners[0];
    assert_eq!(l.kind, "tcp");
    assert_eq!(l.address, "127.0.0.1:8200");
    assert_eq!(l.cluster_address, None);
    assert!(!l.tls_disable);
    assert_eq!(l.tls_cert_file.as_deref(), Some(Path::new("/c.pem")));
    assert_eq!(l.tls_key_file.as_deref(), Some(Path::new("/k.pem")));
    assert_eq!(l.tls_min_version, TlsVersion::Tls12);
    assert_eq!(l.tls_max_version, TlsVersion::Tls13);
    assert_eq!(l.tls_client_ca_file, None);
    assert!(!l.tls_require_and_verify_client_cert);
    assert!(!l.tls_disable_client_certs);
    assert_eq!(l.max_request_size, None);
    assert_eq!(l.max_request_duration, None);
    assert!(l.disable_unauthed_rekey_endpoints);
    assert!(l.disable_unauthed_generate_root_endpoints);
    assert_eq!(l.source, location("d.hcl", 1));
    // Nothing else is defaulted here: the server applies mode-dependent defaults.
    assert_eq!(c.storage, None);
    assert_eq!(c.default_lease_ttl, None);
    assert_eq!(c.max_lease_ttl, None);
    assert_eq!(c.log_level, None);
}

#[test]
fn every_listener_key() {
    let text = r#"
listener "tcp" {
  address = "0.0.0.0:8200"
  cluster_address = "[::]:8201"
  tls_cert_file = "cert.pem"
  tls_key_file = "key.pem"
  tls_min_version = "tls13"
  tls_max_version = "TLS13"
  tls_client_ca_file = "ca.pem"
  tls_require_and_verify_client_cert = "true"
  max_request_size = 1048576
  max_request_duration = "2m"
  disable_unauthed_rekey_endpoints = false
  disable_unauthed_generate_root_endpoints = 0
}
"#;
    let l = ok("l.hcl", text).config.listeners.remove(0);
    assert_eq!(l.address, "0.0.0.0:8200");
    assert_eq!(l.cluster_address.as_deref(), Some("[::]:8201"));
    assert_eq!(l.tls_min_version, TlsVersion::Tls13);
    assert_eq!(l.tls_max_version, TlsVersion::Tls13);
    assert_eq!(l.tls_client_ca_file.as_deref(), Some(Path::new("ca.pem")));
    assert!(l.tls_require_and_verify_client_cert);
    assert_eq!(l.max_request_size, Some(1_048_576));
    assert_eq!(l.max_request_duration, Some(Duration::from_secs(120)));
    assert!(!l.disable_unauthed_rekey_endpoints);
    assert!(!l.disable_unauthed_generate_root_endpoints);
    assert_eq!(l.source.line, 2);
}

#[test]
fn lenient_scalars_like_vault() {
    // Each row: HCL for one setting, and a check of its effect.
    type Check = fn(&arca_config::ServerConfig) -> bool;
    let rows: &[(&str, Check)] = &[
        ("ui = true", |c| c.ui),
        ("ui = \"true\"", |c| c.ui),
        ("ui = 1", |c| c.ui),
        ("ui = \"1\"", |c| c.ui),
        ("ui = \"false\"", |c| !c.ui),
        ("default_lease_ttl = \"768h\"", |c| {
            c.default_lease_ttl == Some(Duration::from_secs(2_764_800))
        }),
        ("default_lease_ttl = \"1h30m\"", |c| {
            c.default_lease_ttl == Some(Duration::from_secs(5400))
        }),
        ("default_lease_ttl = 3600", |c| {
            c.default_lease_ttl == Some(Duration::from_secs(3600))
        }),
        ("default_lease_ttl = \"3600\"", |c| {
            c.default_lease_ttl == Some(Duration::from_secs(3600))
        }),
        ("max_lease_ttl = \"7d\"", |c| {
            c.max_lease_ttl == Some(Duration::from_secs(604_800))
        }),
        ("max_lease_ttl = \"0\"", |c| c.max_lease_ttl.is_none()),
        ("max_request_size = 1024", |c| {
            c.max_request_size == Some(1024)
        }),
        ("max_request_size = \"1024\"", |c| {
            c.max_request_size == Some(1024)
        }),
        ("max_request_size = 0", |c| c.max_request_size.is_none()),
        ("max_request_size = -1", |c| {
            c.max_request_size == Some(UNLIMITED_REQUEST_SIZE)
        }),
        ("log_level = \"DEBUG\"", |c| {
            c.log_level.as_deref() == Some("debug")
        }),
        ("log_level = \"warning\"", |c| {
            c.log_level.as_deref() == Some("warn")
        }),
        ("log_level = \"err\"", |c| {
            c.log_level.as_deref() == Some("error")
        }),
        ("cluster_name = \"prod\"", |c| {
            c.cluster_name.as_deref() == Some("prod")
        }),
        ("raw_storage_endpoint = \"t\"", |c| c.raw_storage_endpoint),
        ("unsafe_allow_api_audit_creation = true", |c| {
            c.unsafe_allow_api_audit_creation
        }),
        ("disable_mlock = \"true\"", |c| c.disable_mlock),
        ("storage \"inmem\" {}", |c| {
            c.storage.as_ref().is_some_and(|s| s.kind == "inmem")
        }),
        ("storage \"Embedded\" { path = \"/d\" }", |c| {
            c.storage.as_ref().is_some_and(|s| s.kind == "embedded")
        }),
        ("backend \"inmem\" {}", |c| c.storage.is_some()),
        ("storage embedded { path = \"/d\" }", |c| {
            c.storage.is_some()
        }),
    ];
    for (text, check) in rows {
        let loaded = ok("s.hcl", text);
        assert!(check(&loaded.config), "{text}: {:?}", loaded.config);
        assert_eq!(loaded.warnings, Vec::<String>::new(), "{text}");
    }
}

#[test]
fn json_forms() {
    let list_form = r#"{
  "listener": [
    {"tcp": {"address": "127.0.0.1:1", "tls_disable": "1"}},
    {"tcp": {"address": "127.0.0.1:2", "tls_disable": 1}}
  ],
  "storage": {"inmem": {}},
  "ui": "true",
  "max_lease_ttl": 60
}"#;
    let c = ok("list.json", list_form).config;
    let addrs: Vec<_> = c.listeners.iter().map(|l| l.address.as_str()).collect();
    assert_eq!(addrs, ["127.0.0.1:1", "127.0.0.1:2"]);
    assert_eq!(c.listeners[0].source.line, 3);
    assert_eq!(c.listeners[1].source.line, 4);
    assert!(c.ui);
    assert_eq!(c.max_lease_ttl, Some(Duration::from_secs(60)));

    // A list under the type label, and detection of JSON by content for a non-.json name.
    let nested_list = r#"  {"listener": {"tcp": [{"tls_disable": true}, {"tls_disable": true, "address": ":9"}]}}"#;
    let c = ok("conf", nested_list).config;
    assert_eq!(c.listeners.len(), 2);
    assert_eq!(c.listeners[1].address, ":9");
}

#[test]
fn two_listeners_in_hcl() {
    let text = "listener \"tcp\" {\n tls_disable = 1\n}\nlistener \"tcp\" {\n address = \"127.0.0.1:8300\"\n tls_disable = 1\n}\n";
    let c = ok("two.hcl", text).config;
    assert_eq!(c.listeners.len(), 2);
    assert_eq!(c.listeners[0].address, "127.0.0.1:8200");
    assert_eq!(c.listeners[1].address, "127.0.0.1:8300");
    assert_eq!(c.listeners[1].source.line, 4);
}

#[test]
fn seal_and_audit_blocks_are_kept_raw() {
    let text = r#"
seal "transit" {
  address    = "https://unsealer:8200"
  token      = "s.sekret"
  key_name   = "autounseal"
  disable_renewal = "false"
}
audit "file" "file/" {
  description = "main"
  options {
    file_path = "/var/log/audit.log"
  }
}
audit "socket" "sock/" {}
"#;
    let c = ok("s.hcl", text).config;
    assert_eq!(c.seals.len(), 1);
    assert_eq!(c.seals[0].labels, vec!["transit"]);
    assert_eq!(c.seals[0].body["key_name"], "autounseal");
    assert_eq!(c.seals[0].source.line, 2);
    assert_eq!(c.audits.len(), 2);
    assert_eq!(c.audits[0].labels, vec!["file", "file/"]);
    assert_eq!(
        c.audits[0].body["options"]["file_path"],
        "/var/log/audit.log"
    );
    assert_eq!(c.audits[1].labels, vec!["socket", "sock/"]);
    assert_eq!(c.audits[1].source.line, 14);

    // Debug output names keys, never values: the seal token must not appear.
    let debug = format!("{c:?}");
    assert!(!debug.contains("s.sekret"), "{debug}");
    assert!(debug.contains("token"), "{debug}");
}

#[test]
fn storage_options_are_strings_and_debug_hides_them() {
    let text = "storage \"embedded\" {\n path = \"/d\"\n sync = true\n size = 5\n nested = { a = 1 }\n secret = \"pw\"\n}\n";
    let s = ok("s.hcl", text).config.storage.unwrap();
    assert_eq!(s.options["path"], "/d");
    assert_eq!(s.options["sync"], "true");
    assert_eq!(s.options["size"], "5");
    assert_eq!(s.options["nested"], r#"{"a":1}"#);
    let debug = format!("{s:?}");
    assert!(!debug.contains("pw") && !debug.contains("/d"), "{debug}");
}

#[test]
fn warnings_name_file_line_and_key() {
    let text = r#"ui = true
foo = 1
disable_mlock = true
disable_cache = true
cache_size = 1000
pid_file = "/run/arca.pid"
log_format = "json"
log_file = "/var/log/arca.log"
telemetry { prometheus_retention_time = "30s" }
plugin_directory = "/plugins"
disable_clustering = true
default_max_request_duration = "90s"
ha_storage "raft" { path = "/x" }
listener "tcp" {
  tls_disable = true
  bar = "x"
  x_forwarded_for_authorized_addrs = "10.0.0.0/8"
  tls_cipher_suites = "TLS_AES_128_GCM_SHA256"
}
"#;
    let loaded = ok("w.hcl", text);
    assert_eq!(
        loaded.warnings,
        vec![
            "w.hcl:2: unknown or unsupported field foo",
            "w.hcl:13: ha_storage is not supported by Arca; ignored",
            "w.hcl:16: unknown or unsupported field listener.tcp.bar",
            "w.hcl:17: listener.tcp.x_forwarded_for_authorized_addrs is not supported by Arca yet; ignored",
            "w.hcl:18: listener.tcp.tls_cipher_suites is not supported by Arca yet; ignored",
        ]
    );
}

#[test]
fn json_duplicate_keys_warn_and_the_last_wins() {
    // JSON allows a repeated key (HCL2 does not; see the errors table).
    let text = "{\n  \"ui\": true,\n  \"listener\": {\"tcp\": {\"tls_disable\": true, \"tls_disable\": false,\n \"tls_cert_file\": \"c\", \"tls_key_file\": \"k\"}},\n  \"ui\": false\n}\n";
    let loaded = ok("d.json", text);
    assert_eq!(
        loaded.warnings,
        vec![
            "d.json:3: listener.tcp.tls_disable is set more than once (first on line 3); the last value is used",
            "d.json:5: ui is set more than once (first on line 2); the last value is used",
        ]
    );
    assert!(!loaded.config.ui);
    assert!(!loaded.config.listeners[0].tls_disable);
}

#[test]
fn hcl1_one_line_forms_load_with_original_lines() {
    let text = "ui = true\nlisten\u{65}r \"tcp\" { address = \"127.0.0.1:1\", tls_disable = true }\nbogus = 1\naudit \"file\" \"f/\" { options { file_path = \"/x\" } }\n";
    let loaded = ok("h.hcl", text);
    let c = &loaded.config;
    assert_eq!(c.listeners[0].address, "127.0.0.1:1");
    assert!(c.listeners[0].tls_disable);
    assert_eq!(c.listeners[0].source.line, 2);
    assert_eq!(c.audits[0].source.line, 4);
    assert_eq!(c.audits[0].body, json!({"options": {"file_path": "/x"}}));
    assert_eq!(
        loaded.warnings,
        vec!["h.hcl:3: unknown or unsupported field bogus"]
    );
}

#[test]
fn json_warning_lines() {
    let text = "{\n  \"storage\": {\"inmem\": {}},\n  \"bogus\": true\n}\n";
    let loaded = ok("w.json", text);
    assert_eq!(
        loaded.warnings,
        vec!["w.json:3: unknown or unsupported field bogus"]
    );
}

#[test]
fn listener_constructor_matches_parsed_defaults() {
    let parsed = ok("c.hcl", "listener \"tcp\" {\n tls_disable = true\n}\n")
        .config
        .listeners
        .remove(0);
    let mut built =
        ListenerConfig::tcp(arca_config::DEFAULT_LISTENER_ADDRESS, location("c.hcl", 1));
    built.tls_disable = true;
    assert_eq!(parsed, built);
}
