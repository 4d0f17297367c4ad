//! Plumbing of the database_* end-to-end modules: an `arca` dev server whose log output is
//! kept in a file (to prove no password is ever logged), a TCP proxy that can cut Arca off
//! from the machine's PostgreSQL and restore it (a real outage as Arca sees it, without
//! touching the shared service), and `psql` helpers.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::ARCA;

pub const PG: ([u8; 4], u16) = ([127, 0, 0, 1], 5432);

/// Whether the machine's PostgreSQL answers; prints `SKIP:` (or fails under
/// `ARCA_TEST_REQUIRE_SERVICES=1`) when it does not.
pub fn postgres_up() -> bool {
    let ok = TcpStream::connect_timeout(&SocketAddr::from(PG), Duration::from_secs(2)).is_ok();
    if !ok {
        arca_test_support::require_or_skip("PostgreSQL is not reachable on 127.0.0.1:5432");
    }
    ok
}

/// Runs `psql` as the local superuser on the shared cluster; returns stdout.
pub fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-tAc",
            sql,
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn role_exists(user: &str) -> bool {
    psql(&format!(
        "SELECT count(*) FROM pg_roles WHERE rolname = '{}'",
        user.replace('\'', "''")
    )) == "1"
}

/// Database roles whose name contains `part`.
pub fn roles_like(part: &str) -> Vec<String> {
    let out = psql(&format!(
        "SELECT rolname FROM pg_roles WHERE strpos(rolname, '{}') > 0 ORDER BY 1",
        part.replace('\'', "''")
    ));
    out.lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Polls `cond` every 100 ms for up to `limit`.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `arca server -dev` at trace level, stdout and stderr going to one file.
pub struct LoggedServer {
    child: Child,
    pub addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LoggedServer {
    pub fn dev(token: &str) -> LoggedServer {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("arca.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(ARCA)
            .args([
                "server",
                "-dev",
                "-dev-listen-address=127.0.0.1:0",
                &format!("-dev-root-token-id={token}"),
            ])
            .env("VAULT_LOG_LEVEL", "trace")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn arca");
        let mut server = LoggedServer {
            child,
            addr: String::new(),
            log,
            _dir: dir,
        };
        let started = wait_for(Duration::from_secs(30), || {
            server.logs().contains("Arca server started")
        });
        let logs = server.logs();
        assert!(started, "server did not start: {logs}");
        server.addr = logs
            .lines()
            .find_map(|l| l.trim().strip_prefix("Api Address: "))
            .expect("api address printed")
            .to_owned();
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Everything the server printed so far.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }
}

/// A TCP proxy on an ephemeral loopback port in front of `target`. `cut` closes every
/// relayed connection and refuses new ones (accepted, then closed at once, as a server
/// going away looks to a client); `restore` relays again.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, stop2, conns2) = (up.clone(), stop.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                {
                    let mut c = conns2.lock().unwrap();
                    c.push(client.try_clone().unwrap());
                    c.push(server.try_clone().unwrap());
                }
                pump(client.try_clone().unwrap(), server.try_clone().unwrap());
                pump(server, client);
            }
        });
        Proxy {
            addr,
            up,
            stop,
            conns,
        }
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so its thread ends.
        let _ = TcpStream::connect(self.addr);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// Whether `password` is the password PostgreSQL stores for `user`: the SCRAM-SHA-256 (or
/// md5) verifier in `pg_authid` is recomputed from it. The shared cluster trusts loopback
/// logins, so a login there proves nothing about the password; the verifier does.
pub fn password_matches(py: &arca_test_support::PyEnv, user: &str, password: &str) -> bool {
    let verifier = psql(&format!(
        "SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = '{}'",
        user.replace('\'', "''")
    ));
    if verifier.is_empty() {
        return false;
    }
    let out = py
        .python(
            r#"
import base64, hashlib, hmac, os, sys
v, pw, user = os.environ["V"], os.environ["PW"].encode(), os.environ["U"].encode()
if v.startswith("SCRAM-SHA-256$"):
    it_salt, keys = v[len("SCRAM-SHA-256$"):].split("$")
    it, salt = it_salt.split(":")
    stored = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac("sha256", pw, base64.b64decode(salt), int(it))
    ck = hmac.new(salted, b"Client Key", "sha256").digest()
    ok = hmac.compare_digest(hashlib.sha256(ck).digest(), base64.b64decode(stored))
elif v.startswith("md5"):
    ok = v == "md5" + hashlib.md5(pw + user).hexdigest()
else:
    ok = False
sys.exit(0 if ok else 1)
"#,
            &[("V", &verifier), ("PW", password), ("U", user)],
        )
        .expect("python");
    out.code == 0
}
