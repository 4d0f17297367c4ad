//! The helpers against the real tools: the venv, a dev and a non-dev OpenBao server, the CLI
//! and hvac runners. Skips (or fails under ARCA_TEST_REQUIRE_SERVICES=1) without the venv.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use arca_test_support::{BaoServer, ok_or_skip, python_env};

#[test]
fn dev_server_answers_the_cli_with_a_clean_environment() {
    let Some(py) = ok_or_skip(python_env()) else {
        return;
    };
    let server = BaoServer::dev(&py, "helper-root").unwrap();
    assert!(server.printed("Unseal Key:").is_some());
    let out = py
        .bao(
            &server.addr,
            Some("helper-root"),
            &["read", "-format=json", "sys/key-status"],
        )
        .unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json().unwrap()["data"]["term"], 1);
    let out = py
        .bao(&server.addr, None, &["read", "sys/key-status"])
        .unwrap();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("Code: 403"), "{}", out.stderr);
}

#[test]
fn inmem_server_starts_uninitialised_and_hvac_sees_it() {
    let Some(py) = ok_or_skip(python_env()) else {
        return;
    };
    let server = BaoServer::inmem(&py, "").unwrap();
    let out = py
        .hvac(
            &server.addr,
            None,
            "print(json.dumps(client.sys.is_initialized()))",
        )
        .unwrap();
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "false"),
        "{}",
        out.stderr
    );
    let out = py.bao(&server.addr, None, &["status"]).unwrap();
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(py.sops.is_file());
}
