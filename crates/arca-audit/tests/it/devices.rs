//! Device types and options: file (modes, stdout, discard, errors), socket over UDP,
//! syslog; listing; refused options.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;

use arca_audit::{AuditError, DeviceInfo};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn list_has_the_sys_audit_shape() {
    let dir = tmp();
    let b = broker().await;
    enable_file(&b, &log_path(&dir), &[]).await;
    b.enable(
        "/devnull/",
        "file",
        "nothing",
        opts(&[("file_path", "discard")]),
        true,
    )
    .await
    .unwrap();
    assert!(b.is_enabled());
    let list = b.list();
    assert_eq!(list.len(), 2);
    assert_eq!(
        serde_json::to_value(&list[0]).unwrap(),
        json!({
            "type": "file",
            "description": "nothing",
            "options": {"file_path": "discard"},
            "local": true,
            "path": "devnull/"
        })
    );
    assert_eq!(list[1].path, "file/");
    let back: DeviceInfo = serde_json::from_value(serde_json::to_value(&list[1]).unwrap()).unwrap();
    assert_eq!(back, list[1]);
    // The same path twice is refused.
    let err = b
        .enable(
            "file/",
            "file",
            "",
            opts(&[("file_path", "discard")]),
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AuditError::PathInUse));
}

#[tokio::test]
async fn bad_types_and_options_are_refused_with_clear_messages() {
    let b = broker().await;
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("nope", vec![], "unknown audit device type"),
        ("file", vec![], "file_path is required"),
        (
            "file",
            vec![("file_path", "discard"), ("format", "jsonx")],
            "jsonx is not supported",
        ),
        (
            "file",
            vec![("file_path", "discard"), ("hmac_accessor", "maybe")],
            "not a boolean",
        ),
        (
            "file",
            vec![("file_path", "/tmp/x"), ("mode", "rw")],
            "not an octal file mode",
        ),
        ("socket", vec![], "address is required"),
        (
            "socket",
            vec![("address", "127.0.0.1:1"), ("socket_type", "sctp")],
            "must be tcp, udp or unix",
        ),
        (
            "socket",
            vec![("address", "127.0.0.1:1"), ("write_timeout", "soon")],
            "not a duration",
        ),
        (
            "syslog",
            vec![("facility", "NOPE")],
            "unknown syslog facility",
        ),
    ];
    for (kind, o, want) in cases {
        let err = b.enable("x", kind, "", opts(&o), false).await.unwrap_err();
        assert!(err.to_string().contains(want), "{kind} {o:?}: {err}");
    }
    assert!(!b.is_enabled());
}

#[tokio::test]
async fn file_errors_name_the_problem_not_the_path() {
    let b = broker().await;
    let err = b
        .enable(
            "f",
            "file",
            "",
            opts(&[("file_path", "/proc/nope/audit.log")]),
            false,
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("cannot open audit file: "), "{msg}");
    assert!(!msg.contains("/proc/nope"), "{msg}");
    // Writing to a full device fails the test message.
    let err = b
        .enable("f", "file", "", opts(&[("file_path", "/dev/full")]), false)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("audit device failed test message"),
        "{err}"
    );
}

#[tokio::test]
async fn file_modes_default_to_0600_and_never_allow_exec() {
    let dir = tmp();
    let b = broker().await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let a = dir.path().join("sub/dir/a.log");
    b.enable(
        "a",
        "file",
        "",
        opts(&[("file_path", a.to_str().unwrap())]),
        false,
    )
    .await
    .unwrap();
    assert_eq!(mode(&a), 0o600);
    assert_eq!(mode(a.parent().unwrap()), 0o700);
    let c = dir.path().join("c.log");
    b.enable(
        "c",
        "file",
        "",
        opts(&[("file_path", c.to_str().unwrap()), ("mode", "0755")]),
        false,
    )
    .await
    .unwrap();
    assert_eq!(mode(&c), 0o644);
    // mode 0000 keeps an existing file's mode.
    let d = dir.path().join("d.log");
    std::fs::write(&d, "").unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o640)).unwrap();
    b.enable(
        "d",
        "file",
        "",
        opts(&[("file_path", d.to_str().unwrap()), ("mode", "0000")]),
        false,
    )
    .await
    .unwrap();
    assert_eq!(mode(&d), 0o640);
}

#[tokio::test]
async fn stdout_discard_and_prefix() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    b.enable("out", "file", "", opts(&[("file_path", "STDOUT")]), false)
        .await
        .unwrap();
    b.enable("null", "file", "", opts(&[("file_path", "discard")]), false)
        .await
        .unwrap();
    enable_file(&b, &log, &[("prefix", "AUDIT: ")]).await;
    b.log_request(&entry("a", "p")).await.unwrap();
    b.shutdown().await;
    let lines = read_lines(&log);
    assert!(lines.iter().all(|l| l.starts_with("AUDIT: {")));
    let r = arca_audit::verify::verify_file(&[log], None).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.records, 1);
}

#[tokio::test]
async fn udp_socket_device_ships_chained_lines() {
    let collector = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    collector
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let addr = collector.local_addr().unwrap().to_string();
    let b = broker().await;
    b.enable(
        "udp",
        "socket",
        "",
        opts(&[("address", &addr), ("socket_type", "udp")]),
        false,
    )
    .await
    .unwrap();
    b.log_request(&entry("u1", "secret/data/a")).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 65536];
    for _ in 0..2 {
        let n = collector.recv(&mut buf).unwrap();
        let line = std::str::from_utf8(&buf[..n])
            .unwrap()
            .trim_end()
            .to_owned();
        seen.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    assert_eq!(seen[0]["type"], "checkpoint");
    assert_eq!(seen[0]["reason"], "open");
    assert_eq!(seen[1]["request"]["id"], "u1");
    assert_eq!(seen[1]["chain"]["seq"], 2);
}

#[tokio::test]
async fn syslog_device_writes_rfc3164_to_the_local_socket() {
    let dir = tmp();
    let sock = dir.path().join("log.sock");
    let daemon = UnixDatagram::bind(&sock).unwrap();
    daemon
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let b = broker().await;
    b.enable(
        "syslog",
        "syslog",
        "",
        opts(&[
            ("socket_path", sock.to_str().unwrap()),
            ("facility", "LOCAL0"),
            ("tag", "arca-test"),
        ]),
        false,
    )
    .await
    .unwrap();
    b.log_request(&entry("s1", "p")).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let mut msgs = Vec::new();
    for _ in 0..2 {
        let n = daemon.recv(&mut buf).unwrap();
        msgs.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    // LOCAL0 (16) * 8 + informational (6) = 134.
    let m = &msgs[1];
    assert!(m.starts_with("<134>"), "{m}");
    let tag = format!(" arca-test[{}]: ", std::process::id());
    let json = &m[m.find(&tag).unwrap() + tag.len()..];
    let v: Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["request"]["id"], "s1");

    // Without a syslog socket, enabling fails clearly.
    let err = b
        .enable(
            "syslog2",
            "syslog",
            "",
            opts(&[("socket_path", dir.path().join("missing").to_str().unwrap())]),
            false,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot connect to the local syslog socket"),
        "{err}"
    );
}
