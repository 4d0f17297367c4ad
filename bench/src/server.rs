//! Starting a server under test as a child process in dev mode, waiting for it, and reading its memory.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::process::{Child, Command};

use crate::client::one_shot;
use crate::scenarios::{ROOT_TOKEN, Req};

/// How to run one server binary.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Column label in the report ("arca", "bao").
    pub name: &'static str,
    pub bin: PathBuf,
    /// Arguments that print the version (first output line is reported).
    pub version_args: &'static [&'static str],
}

impl ServerSpec {
    /// Both servers take the same dev-mode flags.
    fn dev_args(&self, addr: SocketAddr) -> Vec<String> {
        vec![
            "server".into(),
            "-dev".into(),
            format!("-dev-listen-address={addr}"),
            format!("-dev-root-token-id={ROOT_TOKEN}"),
        ]
    }

    /// First line of the binary's version output, if it has one.
    pub async fn version(&self) -> Option<String> {
        let out = Command::new(&self.bin)
            .args(self.version_args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(10), out)
            .await
            .ok()?
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = if out.stdout.is_empty() {
            out.stderr
        } else {
            out.stdout
        };
        let line = String::from_utf8_lossy(&text)
            .lines()
            .next()?
            .trim()
            .to_owned();
        (!line.is_empty()).then_some(line)
    }
}

/// A running dev server. Dropping it kills the process (error paths, Ctrl-C).
pub struct RunningServer {
    child: Child,
    pid: u32,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl RunningServer {
    /// Spawns the server on a free loopback port and waits for the first 200 from `GET /v1/sys/health`.
    /// Returns the server and the time from spawn to that answer.
    pub async fn start(
        spec: &ServerSpec,
        workdir: &Path,
        timeout: Duration,
    ) -> Result<(RunningServer, Duration)> {
        let addr = free_loopback_addr()?;
        let log = workdir.join(format!("{}.log", spec.name));
        let log_file = std::fs::File::create(&log).context("create server log")?;
        let log_err = log_file.try_clone().context("clone log handle")?;
        let home = workdir.join(format!("{}-home", spec.name));
        std::fs::create_dir_all(&home).context("create server home")?;

        let started = Instant::now();
        let child = Command::new(&spec.bin)
            .args(spec.dev_args(addr))
            // A dev server may write a token helper file into $HOME; keep it away from the user's.
            .env("HOME", &home)
            .current_dir(&home)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            // Own process group: a terminal Ctrl-C reaches only us, and we kill the child ourselves.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawn {}", spec.bin.display()))?;
        let pid = child.id().ok_or_else(|| anyhow!("child has no pid"))?;
        let mut server = RunningServer {
            child,
            pid,
            addr,
            log,
        };

        let probe = Req::get("/v1/sys/health");
        loop {
            if let Some(status) = server.child.try_wait().context("poll child")? {
                bail!(
                    "{} exited during startup ({status}); log tail:\n{}",
                    spec.name,
                    server.log_tail()
                );
            }
            let answer =
                tokio::time::timeout(Duration::from_millis(500), one_shot(addr, &probe)).await;
            if let Ok(Ok((status, _))) = answer
                && status == http::StatusCode::OK
            {
                return Ok((server, started.elapsed()));
            }
            if started.elapsed() > timeout {
                bail!(
                    "{} not ready after {timeout:?}; log tail:\n{}",
                    spec.name,
                    server.log_tail()
                );
            }
            // Probe interval bounds the resolution of the startup figure.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Resident set size now, in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        proc_status_kib(self.pid, "VmRSS")
    }

    /// Peak resident set size so far, in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64> {
        proc_status_kib(self.pid, "VmHWM")
    }

    /// User plus system CPU time the server has used so far.
    pub fn cpu_time(&self) -> Result<Duration> {
        process_cpu_time(self.pid)
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

/// Binds port 0 to let the kernel pick a free port, then releases it for the child.
fn free_loopback_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    l.local_addr().context("local addr")
}

fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    parse_status_kib(&status, field).ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

/// Reads a `Field:   1234 kB` line of `/proc/<pid>/status`.
pub fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// User plus system CPU time used so far by process `pid` (all its threads).
pub fn process_cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    parse_stat_cpu(&stat).ok_or_else(|| anyhow!("unexpected /proc/{pid}/stat format"))
}

/// utime + stime from `/proc/<pid>/stat`. The command name in parentheses may hold spaces, so fields are
/// counted after the last `)`; there utime and stime are the 12th and 13th. Units are USER_HZ ticks,
/// which Linux fixes at 100 per second for user space.
pub fn parse_stat_cpu(stat: &str) -> Option<Duration> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Warns when the "binary" is a script (e.g. pip's `bao` wrapper), whose interpreter start would be
/// counted in the startup figure.
pub fn is_script(bin: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    std::fs::File::open(bin)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|()| &magic == b"#!")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status_fields() {
        let s = "Name:\tbao\nVmHWM:\t  91234 kB\nVmRSS:\t   88696 kB\nThreads:\t12\n";
        assert_eq!(parse_status_kib(s, "VmRSS"), Some(88696));
        assert_eq!(parse_status_kib(s, "VmHWM"), Some(91234));
        assert_eq!(parse_status_kib(s, "VmSwap"), None);
        assert_eq!(parse_status_kib(s, "Threads"), None);
    }

    #[test]
    fn parses_proc_stat_cpu() {
        let s = "4242 (bao server) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 17 0 0 20 0 12 0";
        assert_eq!(parse_stat_cpu(s), Some(Duration::from_millis(2670)));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn own_process_status_has_rss() {
        assert!(proc_status_kib(std::process::id(), "VmRSS").is_ok_and(|k| k > 0));
    }
}
