//! Every rejected config names file, line and key, and never echoes a secret.

use arca_config::ConfigErrorKind;

use crate::parse;

const TLS_OFF: &str = "tls_disable = true";

/// (file name, text, the exact error message).
fn cases() -> Vec<(&'static str, String, &'static str)> {
    let listener =
        |body: &str| format!("ui = true\nlistener \"tcp\" {{\n  {TLS_OFF}\n  {body}\n}}\n");
    vec![
        // Top-level scalars.
        (
            "c.hcl",
            "ui = true\nui = \"maybe\"\n".into(),
            "c.hcl:2: ui: syntax error: set more than once in the same block",
        ),
        (
            "c.hcl",
            "\nui = \"maybe\"\n".into(),
            "c.hcl:2: ui: expected a boolean (true, false, \"true\", \"false\", 1 or 0)",
        ),
        (
            "c.hcl",
            "default_lease_ttl = \"10x\"\n".into(),
            "c.hcl:1: default_lease_ttl: unknown unit in duration (use ns, us, ms, s, m or h): \"10x\"",
        ),
        (
            "c.hcl",
            "\n\nmax_lease_ttl = \"-1h\"\n".into(),
            "c.hcl:3: max_lease_ttl: duration must not be negative: \"-1h\"",
        ),
        (
            "c.hcl",
            "max_lease_ttl = [1]\n".into(),
            "c.hcl:1: max_lease_ttl: expected a duration (\"90s\", \"1h30m\" or seconds), found a list",
        ),
        (
            "c.hcl",
            "max_request_size = \"32MiB\"\n".into(),
            "c.hcl:1: max_request_size: expected an integer",
        ),
        (
            "c.hcl",
            "log_level = \"verbose\"\n".into(),
            "c.hcl:1: log_level: unknown log level \"verbose\" (use trace, debug, info, warn or error)",
        ),
        (
            "c.hcl",
            "api_addr = true\n".into(),
            "c.hcl:1: api_addr: expected a string, found a boolean",
        ),
        (
            "c.hcl",
            "api_addr = \"http://{{ GetPrivateIP }}:8200\"\n".into(),
            "c.hcl:1: api_addr: go-sockaddr templates are not supported; give a literal address",
        ),
        (
            "c.hcl",
            "cache_size = \"big\"\n".into(),
            "c.hcl:1: cache_size: expected an integer",
        ),
        (
            "c.hcl",
            "disable_mlock = \"nope\"\n".into(),
            "c.hcl:1: disable_mlock: expected a boolean (true, false, \"true\", \"false\", 1 or 0)",
        ),
        (
            "c.hcl",
            "ui { }\n".into(),
            "c.hcl:1: ui: expected a boolean (true, false, \"true\", \"false\", 1 or 0), found a block",
        ),
        // Listeners.
        (
            "c.hcl",
            "listener \"unix\" {\n  address = \"/run/arca.sock\"\n}\n".into(),
            "c.hcl:1: listener: listener type unix is not supported by Arca; use tcp",
        ),
        (
            "c.hcl",
            "listener \"udp\" {}\n".into(),
            "c.hcl:1: listener: unknown listener type \"udp\" (use tcp)",
        ),
        (
            "c.hcl",
            "\nlistener {\n  tls_disable = true\n}\n".into(),
            "c.hcl:2: listener: wrong number of block labels; write listener \"tcp\" { … }",
        ),
        (
            "c.hcl",
            "listener = \"tcp\"\n".into(),
            "c.hcl:1: listener: expected a block, found a string; write listener \"tcp\" { … }",
        ),
        (
            "c.hcl",
            "ui = true\nlistener \"tcp\" {\n  address = \"0.0.0.0:8200\"\n}\n".into(),
            "c.hcl:2: listener.tcp.tls_cert_file: required unless tls_disable is true",
        ),
        (
            "c.hcl",
            "listener \"tcp\" {\n  tls_cert_file = \"c.pem\"\n}\n".into(),
            "c.hcl:1: listener.tcp.tls_key_file: required unless tls_disable is true",
        ),
        (
            "c.hcl",
            listener("address = \"nope\""),
            "c.hcl:4: listener.tcp.address: expected host:port, got \"nope\"",
        ),
        (
            "c.hcl",
            listener("cluster_address = \"127.0.0.1:70000\""),
            "c.hcl:4: listener.tcp.cluster_address: invalid port in address \"127.0.0.1:70000\"",
        ),
        (
            "c.hcl",
            listener("tls_require_and_verify_client_cert = \"yes\""),
            "c.hcl:4: listener.tcp.tls_require_and_verify_client_cert: expected a boolean (true, false, \"true\", \"false\", 1 or 0)",
        ),
        (
            "c.hcl",
            listener("tls_min_version = \"tls11\""),
            "c.hcl:4: listener.tcp.tls_min_version: TLS 1.0 and 1.1 are not supported by Arca; use tls12 or tls13",
        ),
        (
            "c.hcl",
            listener("tls_max_version = \"ssl3\""),
            "c.hcl:4: listener.tcp.tls_max_version: unknown TLS version \"ssl3\" (use tls12 or tls13)",
        ),
        (
            "c.hcl",
            listener("tls_min_version = \"tls13\"\n  tls_max_version = \"tls12\""),
            "c.hcl:4: listener.tcp.tls_min_version: must not be above tls_max_version",
        ),
        (
            "c.hcl",
            listener("tls_require_and_verify_client_cert = true\n  tls_disable_client_certs = true"),
            "c.hcl:4: listener.tcp.tls_require_and_verify_client_cert: cannot be combined with tls_disable_client_certs",
        ),
        (
            "c.hcl",
            listener("max_request_duration = \"-5s\""),
            "c.hcl:4: listener.tcp.max_request_duration: duration must not be negative: \"-5s\"",
        ),
        (
            "c.hcl",
            listener("max_request_size = 1.5"),
            "c.hcl:4: listener.tcp.max_request_size: expected an integer in range",
        ),
        (
            "c.hcl",
            listener("type = \"unix\""),
            "c.hcl:4: listener.tcp.type: does not match the block label tcp",
        ),
        // Storage.
        (
            "c.hcl",
            "\nstorage \"raft\" {\n  path = \"/var/lib/bao\"\n}\n".into(),
            "c.hcl:2: storage: storage type raft is not supported by Arca; use embedded",
        ),
        (
            "c.hcl",
            "storage \"postgresql\" {\n  connection_url = \"postgres://u:hunter2@db/x\"\n}\n".into(),
            "c.hcl:1: storage: storage type postgresql is not yet supported by Arca; use embedded",
        ),
        (
            "c.hcl",
            "storage \"file\" {\n  path = \"/x\"\n}\n".into(),
            "c.hcl:1: storage: storage type file is not supported by Arca (OpenBao removed it in 2.7); use embedded",
        ),
        (
            "c.hcl",
            "storage \"consul\" {}\n".into(),
            "c.hcl:1: storage: unknown storage type \"consul\" (use embedded or inmem)",
        ),
        (
            "c.hcl",
            "ui = true\nstorage \"embedded\" {\n}\n".into(),
            "c.hcl:2: storage.embedded.path: required: the directory that holds the data",
        ),
        (
            "c.hcl",
            "storage \"embedded\" {\n  path = 5\n}\n".into(),
            "c.hcl:2: storage.embedded.path: expected a string, found a number",
        ),
        (
            "c.hcl",
            "storage \"inmem\" {}\n\nstorage \"embedded\" {\n  path = \"/d\"\n}\n".into(),
            "c.hcl:3: storage: only one storage block is allowed; another is at c.hcl:1",
        ),
        // Raw blocks.
        (
            "c.hcl",
            "audit \"file\" {\n}\n".into(),
            "c.hcl:1: audit: wrong number of block labels; write audit \"<type>\" \"<path>\" { … }",
        ),
        (
            "c.hcl",
            "seal {\n}\n".into(),
            "c.hcl:1: seal: wrong number of block labels; write seal \"<type>\" { … }",
        ),
        // Syntax.
        (
            "c.hcl",
            "ui = true\nlistener \"tcp\" {\n  address = = 1\n}\n".into(),
            "c.hcl:3: syntax error: column 13: invalid expression; expected `\"`, `[`, `{`, `-`, `!`, `(`, `_`, `<`, letter or digit",
        ),
        (
            "c.hcl",
            "ui = true\nmax_lease_ttl = var.ttl\n".into(),
            "c.hcl:2: syntax error: expressions (variables, functions, operators) are not supported in configuration files; use a literal value",
        ),
        // JSON.
        (
            "c.json",
            "{\n  \"ui\": true,\n  \"storage\": {\"embedded\": {}},\n}\n".into(),
            "c.json:4: syntax error: column 1: trailing comma",
        ),
        (
            "c.json",
            "{\n  \"ui\": true,\n  \"listener\": {\"tcp\": {\n    \"tls_disable\": true,\n    \"tls_min_version\": 12\n  }}\n}\n".into(),
            "c.json:5: listener.tcp.tls_min_version: unknown TLS version \"12\" (use tls12 or tls13)",
        ),
        (
            "c.json",
            "{\n  \"listener\": [\n    {\"tcp\": {\"tls_disable\": true}},\n    {\"tcp\": {}}\n  ]\n}\n".into(),
            "c.json:4: listener.tcp.tls_cert_file: required unless tls_disable is true",
        ),
        (
            "c.json",
            "{\n  \"storage\": {\"embedded\": {\"path\": \"/a\"}, \"inmem\": {}}\n}\n".into(),
            "c.json:2: storage: only one storage block is allowed; another is at c.json:2",
        ),
        (
            "c.json",
            "[1, 2]".into(),
            "c.json:1: a config file must hold an object of settings, found a list",
        ),
        (
            "c.json",
            "{\"max_request_size\": \"lots\"}".into(),
            "c.json:1: max_request_size: expected an integer",
        ),
    ]
}

#[test]
fn every_error_names_file_line_and_key() {
    for (name, text, want) in cases() {
        let err = match parse(name, &text) {
            Ok(loaded) => panic!("{name}: expected an error for:\n{text}\ngot {loaded:?}"),
            Err(err) => err,
        };
        assert_eq!(err.to_string(), want, "for:\n{text}");
        assert_eq!(err.file().to_str(), Some(name));
        assert!(err.line().is_some(), "{want}");
    }
}

#[test]
fn errors_are_classified() {
    let kind = |text: &str| {
        let err = parse("c.hcl", text).unwrap_err();
        match err.kind() {
            ConfigErrorKind::Syntax(_) => "syntax",
            ConfigErrorKind::Invalid(_) => "invalid",
            ConfigErrorKind::Unsupported(_) => "unsupported",
            _ => "other",
        }
    };
    assert_eq!(kind("a = = 1"), "syntax");
    assert_eq!(kind("ui = \"x\""), "invalid");
    assert_eq!(kind("storage \"raft\" {}"), "unsupported");
    assert_eq!(kind("listener \"unix\" {}"), "unsupported");
}

#[test]
fn secrets_are_never_echoed() {
    let secret = "hunter2-s.XXXXXXXXXXXXXXXX";
    let texts = [
        // A syntax error on a line holding a secret.
        format!("seal \"transit\" {{\n  token = \"{secret}\n}}\n"),
        format!("{{\"seal\": {{\"transit\": {{\"token\": \"{secret}\" \"x\": 1}}}}}}"),
        // Refused storage types whose options hold credentials.
        format!(
            "storage \"postgresql\" {{\n  connection_url = \"postgres://u:{secret}@db/x\"\n}}\n"
        ),
        // A bad value in an unrelated key after a secret.
        format!("seal \"transit\" {{\n  token = \"{secret}\"\n}}\nui = \"bad\"\n"),
        // Long values are not shown even for non-secret keys.
        format!("log_level = \"{}{secret}\"\n", "x".repeat(60)),
    ];
    for text in texts {
        let name = if text.starts_with('{') {
            "s.json"
        } else {
            "s.hcl"
        };
        let err = parse(name, &text).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn control_characters_in_keys_are_escaped() {
    let loaded = crate::ok("k.json", "{\"evil\\u001b[2J\\nkey\": 1}");
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        !loaded.warnings[0].contains('\u{1b}'),
        "{:?}",
        loaded.warnings
    );
    assert!(!loaded.warnings[0].contains('\n'), "{:?}", loaded.warnings);
}
