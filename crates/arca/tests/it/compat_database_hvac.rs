//! Python hvac 2.4.0's database methods and `bao read database/creds/<role>` against `arca
//! server -dev` and `bao server -dev` (OpenBao's built-in postgresql plugin), both on the
//! machine's PostgreSQL: the same script on both, every call's result compared with
//! passwords, usernames, lease ids and times masked. The credentials each server issues are
//! checked against PostgreSQL's stored SCRAM verifier (the shared cluster trusts loopback
//! logins, so a login alone would prove nothing about the password), and rotate-root on a
//! throwaway account really changes its password on both.

use arca_test_support::{JsonDiff, PyEnv};
use serde_json::{Value, json};

use crate::compat_common::{arca_dev, bao, bao_dev, bao_json, py};
use crate::database_support::{password_matches, postgres_up, psql, role_exists};

const TOKEN: &str = "compat-database-hvac";
const ROOT_OLD: &str = "old-root-pw-4vQ9";

const SCRIPT: &str = r#"
out = {}
def rec(name, f):
    try:
        r = f()
        out[name] = {"response_status": r.status_code} if hasattr(r, "status_code") else r
    except Exception as e:
        out[name] = {"exception": type(e).__name__, "errors": getattr(e, "errors", None)}
env = os.environ
db = client.secrets.database
url = "postgresql://{{username}}:{{password}}@127.0.0.1:5432/test?sslmode=disable"
create = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
rotate = ["ALTER USER \"{{name}}\" WITH PASSWORD '{{password}}';"]

rec("enable", lambda: client.sys.enable_secrets_engine("database"))
rec("configure", lambda: db.configure("pg", "postgresql-database-plugin", allowed_roles=["ro", "app"],
    connection_url=url, username="postgres", password="trusted-anyway"))
rec("read_connection", lambda: db.read_connection("pg"))
rec("list_connections", lambda: db.list_connections())
rec("configure_bad_plugin", lambda: db.configure("bad", "nosuch-database-plugin", connection_url=url))
rec("create_role", lambda: db.create_role("ro", "pg", creation_statements=create,
    default_ttl="1h", max_ttl="24h"))
rec("read_role", lambda: db.read_role("ro"))
rec("list_roles", lambda: db.list_roles())
rec("read_role_missing", lambda: db.read_role("missing"))
rec("generate_credentials", lambda: db.generate_credentials("ro"))
rec("generate_missing", lambda: db.generate_credentials("missing"))
rec("create_static_role", lambda: db.create_static_role("app", "pg", env["STATIC_USER"],
    rotation_statements=rotate, rotation_period=86400))
rec("read_static_role", lambda: db.read_static_role("app"))
rec("list_static_roles", lambda: db.list_static_roles())
rec("get_static_credentials", lambda: db.get_static_credentials("app"))
rec("rotate_static", lambda: db.rotate_static_role_credentials("app"))
rec("get_static_credentials_after", lambda: db.get_static_credentials("app"))
rec("static_missing", lambda: db.get_static_credentials("missing"))
rec("reset", lambda: db.reset_connection("pg"))
rec("configure_root", lambda: db.configure("throwaway", "postgresql-database-plugin",
    allowed_roles=[], connection_url=url, username=env["ROOT_USER"], password=env["ROOT_OLD"]))
rec("rotate_root_credentials", lambda: db.rotate_root_credentials("throwaway"))
rec("read_connection_rotated", lambda: db.read_connection("throwaway"))
rec("delete_connection", lambda: db.delete_connection("throwaway"))
rec("configure_unknown_policy", lambda: db.configure("nopol", "postgresql-database-plugin",
    allowed_roles=["np"], connection_url=url, username="postgres", password="trusted-anyway",
    password_policy="no-such-policy"))
rec("create_role_unknown_policy", lambda: db.create_role("np", "nopol", creation_statements=create))
rec("generate_unknown_policy", lambda: db.generate_credentials("np"))
print(json.dumps(out))
"#;

struct Accounts {
    static_user: String,
    root_user: String,
}

impl Accounts {
    fn new(tag: &str) -> Accounts {
        let pid = std::process::id();
        let a = Accounts {
            static_user: format!("arca_hvac_static_{tag}_{pid}"),
            root_user: format!("arca_hvac_root_{tag}_{pid}"),
        };
        psql(&format!(
            "DROP ROLE IF EXISTS \"{s}\"; CREATE ROLE \"{s}\" LOGIN PASSWORD 'x'; \
             DROP ROLE IF EXISTS \"{r}\"; CREATE ROLE \"{r}\" LOGIN PASSWORD '{ROOT_OLD}'",
            s = a.static_user,
            r = a.root_user
        ));
        a
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-tAc"])
            .arg(format!(
                "DROP ROLE IF EXISTS \"{}\"; DROP ROLE IF EXISTS \"{}\"",
                self.static_user, self.root_user
            ))
            .output();
    }
}

/// The hvac script's results, then `bao read database/creds/ro`, against one server.
fn run(py: &PyEnv, addr: &str, acc: &Accounts) -> (Value, Value) {
    let out = py
        .python(
            &format!(
                "import os, json, hvac\nclient = hvac.Client(url=os.environ['ARCA_HVAC_ADDR'], \
                 token=os.environ['ARCA_HVAC_TOKEN'])\n{SCRIPT}"
            ),
            &[
                ("ARCA_HVAC_ADDR", addr),
                ("ARCA_HVAC_TOKEN", TOKEN),
                ("STATIC_USER", &acc.static_user),
                ("ROOT_USER", &acc.root_user),
                ("ROOT_OLD", ROOT_OLD),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.code, 0, "hvac script against {addr}: {}", out.stderr);
    let script = out.json().unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let cli = bao_json(
        py,
        addr,
        Some(TOKEN),
        &["read", "-format=json", "database/creds/ro"],
        0,
    );
    (script, cli)
}

/// The issued credentials are real: the user exists and its stored verifier is the
/// password's.
fn check_issued(py: &PyEnv, who: &str, creds: &Value) {
    let user = creds["data"]["username"].as_str().unwrap_or_default();
    let pw = creds["data"]["password"].as_str().unwrap_or_default();
    assert!(
        role_exists(user),
        "{who}: issued user {user} does not exist"
    );
    assert!(
        password_matches(py, user, pw),
        "{who}: issued password is not {user}'s"
    );
}

#[test]
fn hvac_database_methods_match_openbao() {
    let Some(py) = py() else { return };
    if !postgres_up() {
        return;
    }
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    let (acc_a, acc_b) = (Accounts::new("a"), Accounts::new("b"));
    let ((a, a_cli), (b, b_cli)) = std::thread::scope(|sc| {
        let a = sc.spawn(|| run(&py, &arca.addr, &acc_a));
        let b = run(&py, &openbao.addr, &acc_b);
        (a.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), b)
    });

    // What hvac users get from Arca, on its own.
    assert_eq!(a["configure"]["response_status"], 204, "{}", a["configure"]);
    assert_eq!(a["list_roles"]["data"]["keys"], json!(["ro"]));
    assert_eq!(a["generate_credentials"]["lease_duration"], 3600);
    assert_eq!(
        a["get_static_credentials"]["data"]["username"].as_str(),
        Some(acc_a.static_user.as_str())
    );
    assert_ne!(
        a["get_static_credentials"]["data"]["password"],
        a["get_static_credentials_after"]["data"]["password"]
    );
    assert_eq!(
        a["rotate_root_credentials"]["response_status"], 204,
        "{}",
        a["rotate_root_credentials"]
    );

    // Every issued credential is real on both servers.
    for (who, script, cli) in [("arca", &a, &a_cli), ("openbao", &b, &b_cli)] {
        check_issued(&py, who, &script["generate_credentials"]);
        check_issued(&py, who, cli);
        check_issued(&py, who, &script["get_static_credentials_after"]);
    }
    // rotate-root changed the throwaway account's password on both.
    for acc in [&acc_a, &acc_b] {
        assert!(
            !password_matches(&py, &acc.root_user, ROOT_OLD),
            "rotate-root left {}'s old password",
            acc.root_user
        );
    }

    let diff = JsonDiff::new().mask(&[
        "request_id",
        "lease_id",
        "password",
        "username",
        "last_vault_rotation",
        "ttl",
    ]);
    diff.assert_matches("bao read database/creds/ro", &a_cli, &b_cli, &[]);
    // The deliberate differences (docs/compatibility.md, database engine).
    const NO_ECHO: &str = "errors do not quote request data";
    const CATALOG: &str = "no plugin catalog: the message names the unsupported plugin";
    const EARLY: &str = "an unknown password policy is refused when the connection is written";
    diff.assert_matches(
        "hvac database script",
        &a,
        &b,
        &[
            ("/configure_bad_plugin/errors/0", CATALOG),
            ("/generate_missing/errors/0", NO_ECHO),
            ("/static_missing/errors/0", NO_ECHO),
            ("/configure_unknown_policy/errors", EARLY),
            ("/configure_unknown_policy/exception", EARLY),
            ("/configure_unknown_policy/response_status", EARLY),
            ("/generate_unknown_policy/errors/0", EARLY),
            ("/generate_unknown_policy/exception", EARLY),
        ],
    );
    assert_eq!(a["configure_unknown_policy"]["exception"], "InvalidRequest");
    assert_eq!(
        a["configure_unknown_policy"]["errors"],
        json!(["password policy not found"])
    );
    assert_eq!(
        b["generate_unknown_policy"]["exception"],
        "InternalServerError"
    );

    // Leave no users behind on the shared cluster.
    for addr in [&arca.addr, &openbao.addr] {
        let out = bao(
            &py,
            addr,
            Some(TOKEN),
            &["lease", "revoke", "-sync", "-prefix", "database/creds/ro"],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    for (who, script, cli) in [("arca", &a, &a_cli), ("openbao", &b, &b_cli)] {
        for creds in [&script["generate_credentials"], cli] {
            let user = creds["data"]["username"].as_str().unwrap_or_default();
            assert!(!role_exists(user), "{who}: {user} survived revoke -sync");
        }
    }
}
