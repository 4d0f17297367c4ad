//! `load`: several files, directories, merging, and read errors.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arca_config::{ConfigErrorKind, load};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn merge_of_two_files_follows_vault() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.hcl",
        r#"
storage "embedded" { path = "/data" }
listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
}
api_addr = "http://a:8200"
cluster_name = "first"
ui = true
default_lease_ttl = "2h"
max_lease_ttl = "10h"
log_level = "info"
max_request_size = 100
seal "transit" { key_name = "k" }
"#,
    );
    let b = write(
        dir.path(),
        "b.json",
        r#"{
  "listener": {"tcp": {"address": "127.0.0.1:8300", "tls_disable": true}},
  "api_addr": "http://b:8200",
  "ui": false,
  "default_lease_ttl": "1h",
  "max_lease_ttl": "20h",
  "log_level": "debug",
  "audit": {"file": {"f/": {"options": {"file_path": "/log"}}}},
  "nope": 1
}"#,
    );
    let loaded = load(&[a.clone(), b.clone()]).unwrap();
    let c = &loaded.config;
    // Listeners, seals and audits accumulate in order.
    let addrs: Vec<_> = c.listeners.iter().map(|l| l.address.as_str()).collect();
    assert_eq!(addrs, ["127.0.0.1:8200", "127.0.0.1:8300"]);
    assert_eq!(c.listeners[0].source.file, a);
    assert_eq!(c.listeners[1].source.file, b);
    assert_eq!(c.seals.len(), 1);
    assert_eq!(c.audits.len(), 1);
    // The storage block of the one file that has it.
    assert_eq!(c.storage.as_ref().unwrap().options["path"], "/data");
    // Strings set later win; unset ones keep the earlier value.
    assert_eq!(c.api_addr.as_deref(), Some("http://b:8200"));
    assert_eq!(c.cluster_name.as_deref(), Some("first"));
    assert_eq!(c.log_level.as_deref(), Some("debug"));
    assert_eq!(c.max_request_size, Some(100));
    // Booleans are OR-ed and TTLs take the larger, as Vault's Config.Merge does.
    assert!(c.ui);
    assert_eq!(c.default_lease_ttl, Some(Duration::from_secs(7200)));
    assert_eq!(c.max_lease_ttl, Some(Duration::from_secs(72000)));
    // Warnings carry their own file.
    assert_eq!(
        loaded.warnings,
        vec![format!(
            "{}:9: unknown or unsupported field nope",
            b.display()
        )]
    );
}

#[test]
fn directory_load_is_sorted_and_skips_other_files() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "20-listener.hcl",
        "listener \"tcp\" {\n  address = \"127.0.0.1:2\"\n  tls_disable = 1\n}\n",
    );
    write(
        dir.path(),
        "10-listener.json",
        r#"{"listener": {"tcp": {"address": "127.0.0.1:1", "tls_disable": 1}}}"#,
    );
    write(dir.path(), "30-storage.hcl", "storage \"inmem\" {}\n");
    // Not config: other extensions, editor leftovers, subdirectories.
    write(dir.path(), "README.md", "not = config {");
    write(dir.path(), "40-x.hcl~", "broken {");
    write(dir.path(), ".#50-x.hcl", "broken {");
    write(dir.path(), "#60-x.hcl#", "broken {");
    fs::create_dir(dir.path().join("sub.hcl")).unwrap();
    write(&dir.path().join("sub.hcl"), "x.hcl", "broken {");

    let loaded = load(&[dir.path().to_path_buf()]).unwrap();
    let addrs: Vec<_> = loaded
        .config
        .listeners
        .iter()
        .map(|l| l.address.as_str())
        .collect();
    assert_eq!(addrs, ["127.0.0.1:1", "127.0.0.1:2"]);
    assert_eq!(loaded.config.storage.as_ref().unwrap().kind, "inmem");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    // A file in a directory that is also given is read once, with the directory.
    let file = dir.path().join("30-storage.hcl");
    let loaded = load(&[file.clone(), dir.path().to_path_buf(), file]).unwrap();
    assert_eq!(loaded.config.listeners.len(), 2);
    assert!(loaded.config.storage.is_some());
}

#[test]
fn empty_directory_warns() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(loaded.config, arca_config::ServerConfig::default());
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("no .hcl or .json files"));
}

#[test]
fn storage_in_two_files_is_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.hcl", "storage \"inmem\" {}\n");
    let b = write(
        dir.path(),
        "b.hcl",
        "ui = true\nstorage \"embedded\" {\n  path = \"/d\"\n}\n",
    );
    let err = load(&[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2: storage: only one storage block is allowed; another is at {}:1",
            b.display(),
            a.display()
        )
    );
}

#[test]
fn errors_in_a_loaded_file_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.hcl", "ui = true\n");
    let bad = write(dir.path(), "bad.hcl", "ui = true\n\nlog_level = \"loud\"\n");
    let err = load(&[good, bad.clone()]).unwrap_err();
    assert_eq!(err.file(), bad);
    assert_eq!(err.line(), Some(3));
    assert_eq!(err.key(), Some("log_level"));
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.hcl");
    let err = load(std::slice::from_ref(&missing)).unwrap_err();
    assert!(matches!(err.kind(), ConfigErrorKind::Io(_)));
    assert_eq!(err.line(), None);
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{err}"
    );
}
