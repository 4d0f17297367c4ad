//! `arca audit verify` and `arca audit query` on logs written by `arca-audit`, through the
//! real binary (no server needed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arca_audit::{AuditAuth, AuditBroker, AuditEntry, AuditResponse};
use arca_logical::SystemView;
use serde_json::Value;

use crate::support::ARCA;

struct Clock;

impl SystemView for Clock {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

fn entry(id: &str, path: &str, who: &str, denied: bool) -> AuditEntry {
    AuditEntry {
        time: SystemTime::now(),
        request_id: id.to_owned(),
        operation: "read".into(),
        path: path.to_owned(),
        remote_address: "127.0.0.1".into(),
        client_token: Some(format!("hvs.{who}")),
        client_token_accessor: format!("acc-{who}"),
        auth: Some(AuditAuth {
            accessor: format!("acc-{who}"),
            display_name: format!("userpass-{who}"),
            policies: vec!["default".into()],
            entity_id: format!("ent-{who}"),
            client_token: format!("hvs.{who}"),
            policy_results: Some((!denied, vec![])),
            ..AuditAuth::default()
        }),
        response: Some(AuditResponse {
            status: if denied { 403 } else { 200 },
            error: denied.then(|| "permission denied".to_owned()),
            data: (!denied).then(|| {
                serde_json::json!({"card": "4111-1111"})
                    .as_object()
                    .unwrap()
                    .clone()
            }),
            ..AuditResponse::default()
        }),
        ..AuditEntry::default()
    }
}

/// Writes a log with reads by alice (ok) and bob (denied) of secret/data/payments and one
/// other read; returns (log, pubkey file, alice's accessor hash).
fn make_log(dir: &Path) -> (PathBuf, PathBuf, String) {
    let log = dir.join("audit.log");
    let key = dir.join("audit.pub");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hash = rt.block_on(async {
        let b = AuditBroker::new(Arc::new(arca_storage::InMemStorage::new()), Arc::new(Clock))
            .await
            .unwrap();
        let opts = [("file_path".to_owned(), log.display().to_string())].into();
        b.enable("file", "file", "", opts, false).await.unwrap();
        for e in [
            entry("r1", "secret/data/payments", "alice", false),
            entry("r2", "secret/data/payments", "bob", true),
            entry("r3", "secret/data/other", "alice", false),
        ] {
            b.log_request(&e).await.unwrap();
            b.log_response(&e).await.unwrap();
        }
        std::fs::write(&key, b.public_key().await.unwrap()).unwrap();
        let h = b.hash("file", "acc-alice").await.unwrap();
        b.shutdown().await;
        h
    });
    (log, key, hash)
}

fn arca(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(ARCA)
        .args(args)
        .env_remove("VAULT_FORMAT")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verify_reports_ok_and_the_first_tampered_line() {
    let dir = tempfile::tempdir().unwrap();
    let (log, key, _) = make_log(dir.path());
    let (log_s, key_s) = (log.to_str().unwrap(), key.to_str().unwrap());

    let (code, out, err) = arca(&["audit", "verify", log_s, "-pubkey", key_s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("ok, 6 records, last checkpoint at "),
        "{out}"
    );
    assert!(out.contains("signature ok"), "{out}");

    let (code, out, _) = arca(&["audit", "verify", "-format=json", log_s, "-pubkey", key_s]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["records"], 6);

    // Delete line 3.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(2);
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let (code, _, err) = arca(&["audit", "verify", log_s, "-pubkey", key_s]);
    assert_eq!(code, 2);
    assert!(err.contains(":3: deleted record"), "{err}");

    // A key that is not Ed25519 is a usage error.
    let (code, _, err) = arca(&["audit", "verify", log_s, "-pubkey", "not-a-key"]);
    assert_eq!(code, 1);
    assert!(err.contains("public key"), "{err}");
    let (code, _, _) = arca(&["audit", "verify"]);
    assert_eq!(code, 1);
}

#[test]
fn query_answers_who_read_a_path_without_values() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _, alice_hash) = make_log(dir.path());
    let log_s = log.to_str().unwrap();

    let (code, out, err) = arca(&[
        "audit",
        "query",
        log_s,
        "-path",
        "secret/data/payments",
        "-since",
        "24h",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[0].starts_with("Time"), "{out}");
    assert_eq!(rows.len(), 4, "{out}");
    assert!(
        rows[2].contains("userpass-alice") && rows[2].contains(" ok "),
        "{out}"
    );
    assert!(rows[3].contains("userpass-bob") && rows[3].contains("error: permission denied"));
    assert!(!out.contains("4111"));

    let (code, out, _) = arca(&[
        "audit",
        "query",
        "-format=json",
        log_s,
        "-accessor-hash",
        &alice_hash,
    ]);
    assert_eq!(code, 0);
    let hits: Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r1", "r3"]);

    let (code, out, _) = arca(&["audit", "query", log_s, "-entity", "ent-nobody"]);
    assert_eq!(code, 2);
    assert!(out.contains("No matching requests found."));
    let (code, _, err) = arca(&["audit", "query", log_s, "-since", "yesterday"]);
    assert_eq!(code, 1);
    assert!(err.contains("Invalid -since"), "{err}");
}
