//! Starting a server under test as a child process (dev or persistent mode, optionally pinned to a
//! CPU), waiting for it, stopping it, and reading its memory and CPU time.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::process::{Child, Command};

use crate::client::{Req, one_shot};
use crate::scenarios::ROOT_TOKEN;

/// Which server a binary is: they differ in how persistent storage is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Arca,
    Bao,
}

/// How to run one server binary.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Column label in the report ("arca", "bao").
    pub name: &'static str,
    pub flavor: Flavor,
    pub bin: PathBuf,
    /// Arguments that print the version (first output line is reported).
    pub version_args: &'static [&'static str],
    /// CPU the server is pinned to (through `taskset`), if pinning is on.
    pub cpu: Option<usize>,
}

impl ServerSpec {
    /// Dev mode, in memory, with the bench's root token. Both servers also read a small config file:
    /// OpenBao needs `unsafe_allow_api_audit_creation` for the audit scenario to enable a device
    /// through the API (Arca's dev mode allows it already) and a listener that accepts a 1,000-item
    /// batch (below), and both get `disable_mlock` because
    /// OpenBao's dev mode never locks memory while Arca's does when run as root, which makes every
    /// mapped page resident and would compare different things (see bench/README.md).
    pub fn dev_args(&self, addr: SocketAddr, dir: &Path) -> Result<Vec<String>> {
        let config = dir.join(format!("{}-dev.hcl", self.name));
        let (text, dev_addr) = match self.flavor {
            Flavor::Arca => ("disable_mlock = true\n".to_owned(), addr),
            // OpenBao refuses a JSON body with more than 1,000 strings (keys and values) by default,
            // so a 1,000-item transit batch needs a listener with a higher limit; dev mode adds the
            // config file's listeners to its own, so the bench talks to that one and the dev listener
            // sits unused on another port. The limit stays finite: the check still runs.
            Flavor::Bao => (
                format!(
                    "disable_mlock = true\nunsafe_allow_api_audit_creation = true\n\
                     listener \"tcp\" {{\n  address = \"{addr}\"\n  tls_disable = true\n  max_request_json_strings = 1000000\n}}\n"
                ),
                free_loopback_addr()?,
            ),
        };
        std::fs::write(&config, text).context("write dev config")?;
        Ok(vec![
            "server".into(),
            "-dev".into(),
            format!("-config={}", config.display()),
            format!("-dev-listen-address={dev_addr}"),
            format!("-dev-root-token-id={ROOT_TOKEN}"),
        ])
    }

    /// Durable storage in `data`: Arca's embedded store, OpenBao's integrated raft (one node). Both
    /// acknowledge a write only after it is on disk (fsync).
    pub fn persistent_args(&self, addr: SocketAddr, data: &Path) -> Result<Vec<String>> {
        std::fs::create_dir_all(data).context("create data dir")?;
        let config = data.with_extension("hcl");
        let text = match self.flavor {
            Flavor::Arca => format!(
                "storage \"embedded\" {{\n  path = \"{}\"\n}}\n\
                 listener \"tcp\" {{\n  address = \"{addr}\"\n  tls_disable = true\n}}\n\
                 disable_mlock = true\n",
                data.join("arca.db").display()
            ),
            Flavor::Bao => {
                let cluster = free_loopback_addr()?;
                format!(
                    "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"bench\"\n}}\n\
                     listener \"tcp\" {{\n  address = \"{addr}\"\n  cluster_address = \"{cluster}\"\n  tls_disable = true\n}}\n\
                     api_addr = \"http://{addr}\"\ncluster_addr = \"http://{cluster}\"\ndisable_mlock = true\n",
                    data.display()
                )
            }
        };
        std::fs::write(&config, text).context("write server config")?;
        Ok(vec![
            "server".into(),
            format!("-config={}", config.display()),
        ])
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

/// A running server. Dropping it kills the process (error paths, Ctrl-C).
pub struct RunningServer {
    child: Child,
    pid: u32,
    pub addr: SocketAddr,
    log: PathBuf,
    started: Instant,
}

impl RunningServer {
    /// Spawns `spec.bin args` (pinned to `spec.cpu` if set), logging to `<workdir>/<log_name>.log`.
    pub fn spawn(
        spec: &ServerSpec,
        args: &[String],
        addr: SocketAddr,
        workdir: &Path,
        log_name: &str,
    ) -> Result<RunningServer> {
        let log = workdir.join(format!("{log_name}.log"));
        let log_file = std::fs::File::create(&log).context("create server log")?;
        let log_err = log_file.try_clone().context("clone log handle")?;
        let home = workdir.join(format!("{}-home", spec.name));
        std::fs::create_dir_all(&home).context("create server home")?;
        // `taskset` sets the affinity and then exec()s the server, so the pid is the server's and
        // every thread it ever starts inherits the CPU.
        let mut cmd = match spec.cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(&spec.bin);
                c
            }
            None => Command::new(&spec.bin),
        };
        let started = Instant::now();
        let child = cmd
            .args(args)
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
        Ok(RunningServer {
            child,
            pid,
            addr,
            log,
            started,
        })
    }

    /// Dev mode: spawns the server on a free loopback port and waits for the first 200 from
    /// `GET /v1/sys/health`. Returns the server and the time from spawn to that answer.
    pub async fn start_dev(
        spec: &ServerSpec,
        workdir: &Path,
        timeout: Duration,
    ) -> Result<(RunningServer, Duration)> {
        let addr = free_loopback_addr()?;
        let args = spec.dev_args(addr, workdir)?;
        let mut server =
            RunningServer::spawn(spec, &args, addr, workdir, &format!("{}-dev", spec.name))?;
        server
            .wait_status(
                &Req::get("/v1/sys/health"),
                |s| s == http::StatusCode::OK,
                timeout,
            )
            .await?;
        let startup = server.since_spawn();
        Ok((server, startup))
    }

    /// Polls `probe` on fresh connections (every 2 ms, which bounds the resolution of start-up
    /// figures) until its status satisfies `ok`; fails if the child exits or `timeout` passes.
    pub async fn wait_status(
        &mut self,
        probe: &Req,
        ok: impl Fn(http::StatusCode) -> bool,
        timeout: Duration,
    ) -> Result<()> {
        let begin = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().context("poll child")? {
                bail!(
                    "exited during startup ({status}); log tail:\n{}",
                    self.log_tail()
                );
            }
            let answer =
                tokio::time::timeout(Duration::from_millis(500), one_shot(self.addr, probe)).await;
            if let Ok(Ok((status, _))) = answer
                && ok(status)
            {
                return Ok(());
            }
            if begin.elapsed() > timeout {
                bail!(
                    "{} not answering as expected after {timeout:?}; log tail:\n{}",
                    probe.path,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Time since spawn.
    pub fn since_spawn(&self) -> Duration {
        self.started.elapsed()
    }

    /// Resident set size now, in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        proc_status_kib(self.pid, "VmRSS")
    }

    /// The anonymous part of the resident set (heap, stacks), in KiB: RSS minus mapped files, such as
    /// the binary's own code pages.
    pub fn rss_anon_kib(&self) -> Result<u64> {
        proc_status_kib(self.pid, "RssAnon")
    }

    /// Peak resident set size so far, in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64> {
        proc_status_kib(self.pid, "VmHWM")
    }

    pub fn pid(&self) -> u32 {
        self.pid
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

    /// Kills the server at once (SIGKILL).
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }

    /// Asks the server to shut down (SIGTERM), as an operator would before a restart; SIGKILL after
    /// 60 s.
    pub async fn shutdown(mut self) {
        if let Some(pid) = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .is_err()
        {
            eprintln!("server {} ignored SIGTERM for 60 s; killing it", self.pid);
            self.stop().await;
        }
    }
}

/// Binds port 0 to let the kernel pick a free port, then releases it for the child.
pub fn free_loopback_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    l.local_addr().context("local addr")
}

/// Resident set size of process `pid` now, in KiB.
pub fn rss_kib_of(pid: u32) -> Result<u64> {
    proc_status_kib(pid, "VmRSS")
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
