//! A PostgreSQL cluster of its own with scram-sha-256 authentication (the machine's server
//! trusts every password): proves that rotated passwords are really checked, for static
//! roles and for the root credentials.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::{Engine, unique};

/// A temporary cluster, stopped and removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn as_postgres(cmd: &str, args: &[&str]) -> std::process::Output {
    // initdb refuses to run as root: run it as the postgres account when we are root.
    let root = rustix_uid_is_root();
    let out = if root {
        Command::new("runuser")
            .args(["-u", "postgres", "--", cmd])
            .args(args)
            .output()
    } else {
        Command::new(cmd).args(args).output()
    };
    out.expect("spawn")
}

fn rustix_uid_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Cluster {
    fn start(superuser_password: &str) -> Option<Cluster> {
        let Some(bin) = pg_bin() else {
            arca_test_support::require_or_skip("initdb not found under /usr/lib/postgresql/*/bin");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = arca_test_support::free_port().unwrap();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, superuser_password).unwrap();
        let data = dir.path().join("data");
        if rustix_uid_is_root() {
            let _ = Command::new("chown")
                .args(["-R", "postgres:postgres", dir.path().to_str().unwrap()])
                .status();
        }
        let out = as_postgres(
            bin.join("initdb").to_str().unwrap(),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--pwfile",
                pwfile.to_str().unwrap(),
                "--no-sync",
            ],
        );
        if !out.status.success() {
            arca_test_support::require_or_skip(&format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            return None;
        }
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        let out = as_postgres(
            bin.join("pg_ctl").to_str().unwrap(),
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                dir.path().join("log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        if !out.status.success() {
            arca_test_support::require_or_skip(&format!(
                "pg_ctl start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            return None;
        }
        Some(Cluster { bin, dir, port })
    }

    fn url(&self, user: &str, pass: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} password={pass} dbname=postgres",
            self.port
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(
            self.bin.join("pg_ctl").to_str().unwrap(),
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

async fn can_login(url: &str) -> bool {
    match tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            client.simple_query("SELECT 1").await.is_ok()
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn passwords_are_checked_static_and_root_rotation() {
    let Some(cluster) = Cluster::start("root-initial") else {
        return;
    };
    let admin = cluster.url("postgres", "root-initial");
    assert!(can_login(&admin).await);
    assert!(
        !can_login(&cluster.url("postgres", "wrong")).await,
        "the cluster checks passwords"
    );

    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let app = unique("app");
    client
        .batch_execute(&format!(
            "CREATE ROLE \"{app}\" LOGIN PASSWORD 'app-initial'"
        ))
        .await
        .unwrap();

    let e = Engine::new().await;
    e.write(
        "config/pg",
        json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": format!("postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres", cluster.port),
            "username": "postgres",
            "password": "root-initial",
            "allowed_roles": "*",
        }),
    )
    .await;

    // Static role: the DBA's password stops working, Arca's works; rotation repeats it.
    e.write(
        "static-roles/app",
        json!({"db_name": "pg", "username": app, "rotation_period": 3600}),
    )
    .await;
    let p1 = e.read("static-creds/app").await["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!can_login(&cluster.url(&app, "app-initial")).await);
    assert!(can_login(&cluster.url(&app, &p1)).await);
    e.clock.advance(Duration::from_secs(3600));
    assert_eq!(e.backend.run_due().await, 1);
    let p2 = e.read("static-creds/app").await["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!can_login(&cluster.url(&app, &p1)).await);
    assert!(can_login(&cluster.url(&app, &p2)).await);

    // Dynamic credentials log in with their password (the manual clock is an hour ahead
    // of the real one, so VALID UNTIL is two hours away).
    e.write(
        "roles/dyn",
        json!({"db_name": "pg", "creation_statements": "CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"}),
    )
    .await;
    let (user, pass, secret) = e.creds("dyn").await;
    assert!(can_login(&cluster.url(&user, &pass)).await);
    assert!(!can_login(&cluster.url(&user, "nope")).await);
    e.revoke(&secret).await.unwrap();
    assert!(!can_login(&cluster.url(&user, &pass)).await);

    // Root rotation: afterwards only the engine knows the superuser password.
    e.write("rotate-root/pg", json!({})).await;
    assert!(
        !can_login(&admin).await,
        "the old root password still works"
    );
    let c = e.read("config/pg").await;
    assert!(c["connection_details"].get("password").is_none());
    // The engine still works with the new root password.
    e.write("rotate-role/app", json!({})).await;
    let p3 = e.read("static-creds/app").await["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(can_login(&cluster.url(&app, &p3)).await);
    // reset reconnects with the stored (new) password.
    e.write("reset/pg", json!({})).await;
    let (user, pass, secret) = e.creds("dyn").await;
    assert!(can_login(&cluster.url(&user, &pass)).await);
    e.revoke(&secret).await.unwrap();
    e.shutdown().await;
    drop(cluster);
}
