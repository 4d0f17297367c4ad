//! A real OpenBao server (`bao server`) to compare Arca against.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::scrub_env;
use crate::{Error, PyEnv};

/// How long a server gets to answer its first HTTP request.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts with a new port when the one picked was taken in the meantime.
const PORT_ATTEMPTS: usize = 3;

/// A free TCP port on 127.0.0.1 (free when asked; another process may take it before use).
pub fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|source| Error::Io {
        what: "bind 127.0.0.1:0".to_owned(),
        source,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| Error::Io {
            what: "local_addr".to_owned(),
            source,
        })
}

/// A running `bao server`; killed (SIGKILL) when dropped. Its working directory, `HOME` and
/// log live in a temporary directory removed with it.
pub struct BaoServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub addr: String,
    /// The root token of a dev server; `None` for a server that still needs `operator init`.
    pub root_token: Option<String>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// The brief's name for the dev flavour; [`BaoServer::dev`] starts one.
pub type BaoDevServer = BaoServer;

impl Drop for BaoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for BaoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaoServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl BaoServer {
    /// `bao server -dev -dev-root-token-id=<root_token>` on a free loopback port: in memory,
    /// initialised with one share, unsealed, KV v2 at `secret/`.
    pub fn dev(env: &PyEnv, root_token: &str) -> Result<BaoServer, Error> {
        Self::start(env, "bao server -dev", Some(root_token), |port, _dir| {
            vec![
                "server".to_owned(),
                "-dev".to_owned(),
                "-dev-no-store-token".to_owned(),
                format!("-dev-root-token-id={root_token}"),
                format!("-dev-listen-address=127.0.0.1:{port}"),
            ]
        })
    }

    /// A non-dev `bao server` with `storage "inmem"`, plain HTTP on a free loopback port and
    /// `extra` appended to its HCL config: uninitialised, like a fresh production server.
    pub fn inmem(env: &PyEnv, extra: &str) -> Result<BaoServer, Error> {
        let extra = extra.to_owned();
        Self::start(env, "bao server (inmem)", None, move |port, dir| {
            let cfg = dir.join("bao.hcl");
            let text = format!(
                "storage \"inmem\" {{}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}\n\
                 disable_mlock = true\n{extra}\n"
            );
            // A write failure shows up as bao's own "config not found" error and log.
            let _ = std::fs::write(&cfg, text);
            vec!["server".to_owned(), format!("-config={}", cfg.display())]
        })
    }

    /// The last lines of the server's output (for assertion messages).
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// The value a dev server printed after `label` (`"Unseal Key:"`, `"Root Token:"`).
    pub fn printed(&self, label: &str) -> Option<String> {
        std::fs::read_to_string(&self.log)
            .ok()?
            .lines()
            .find_map(|l| {
                l.trim_start()
                    .strip_prefix(label)
                    .map(|v| v.trim().to_owned())
            })
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn start(
        env: &PyEnv,
        what: &str,
        root_token: Option<&str>,
        args: impl Fn(u16, &std::path::Path) -> Vec<String>,
    ) -> Result<BaoServer, Error> {
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            let dir = tempfile::tempdir().map_err(|source| Error::Io {
                what: "server temp dir".to_owned(),
                source,
            })?;
            let port = free_port()?;
            let log = dir.path().join("server.log");
            let file = |l: &PathBuf| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(l)
                    .map_err(|source| Error::Io {
                        what: "server log".to_owned(),
                        source,
                    })
            };
            let mut cmd = Command::new(&env.bao);
            scrub_env(&mut cmd);
            cmd.args(args(port, dir.path()))
                .current_dir(dir.path())
                .env("HOME", dir.path())
                .stdin(Stdio::null())
                .stdout(file(&log)?)
                .stderr(file(&log)?);
            let child = cmd.spawn().map_err(|source| Error::Io {
                what: format!("spawn {what}"),
                source,
            })?;
            let mut server = BaoServer {
                child,
                addr: format!("http://127.0.0.1:{port}"),
                root_token: root_token.map(str::to_owned),
                log,
                _dir: dir,
            };
            match server.wait_until_serving(port) {
                Ok(()) => return Ok(server),
                Err(reason) => {
                    let log = server.log_tail();
                    let port_taken = log.contains("address already in use");
                    last = Some(Error::ServerStart {
                        what: what.to_owned(),
                        reason,
                        log,
                    });
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::ServerStart {
            what: what.to_owned(),
            reason: "no attempt made".to_owned(),
            log: String::new(),
        }))
    }

    /// Polls `GET /v1/sys/health` until any HTTP answer (an uninitialised server says 501).
    /// A dev server is ready only once it has printed its root token: it unseals (health 200)
    /// a moment before it swaps in the token id it was given.
    fn wait_until_serving(&mut self, port: u16) -> Result<(), String> {
        let want_ok = self.root_token.is_some();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            if let Some(code) = health_status(port)
                && (!want_ok
                    || (code == 200
                        && std::fs::read_to_string(&self.log)
                            .is_ok_and(|l| l.contains("Root Token:"))))
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("no answer within {} s", START_TIMEOUT.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// The status code of `GET /v1/sys/health`, by hand over HTTP/1.0 (no client dependency).
fn health_status(port: u16) -> Option<u16> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /v1/sys/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 16];
    let n = s.read(&mut head).ok()?;
    // "HTTP/1.1 200 OK"
    std::str::from_utf8(head.get(..n)?)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

fn log_tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
