//! Configuration errors stop the server with exit code 1 and name the file, line and key.

use std::process::Command;

use crate::support::ARCA;

#[test]
fn bad_config_exits_1_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.hcl");
    std::fs::write(
        &path,
        "storage \"inmem\" {}\n\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = \"maybe\"\n}\n",
    )
    .unwrap();
    let out = Command::new(ARCA)
        .args(["server", "-config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.hcl:5"), "{stderr}");
    assert!(stderr.contains("tls_disable"), "{stderr}");
}

#[test]
fn missing_storage_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nostorage.hcl");
    std::fs::write(
        &path,
        "listener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n}\n",
    )
    .unwrap();
    let out = Command::new(ARCA)
        .args(["server", "-config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("storage"));
}
