//! Running a client process with a clean environment and a time limit.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Error;

/// Longest a single client command may run before it is killed.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What a finished command printed, and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    /// Exit code; -1 when killed by a signal.
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl CmdOutput {
    /// Standard output parsed as JSON.
    pub fn json(&self) -> Result<Value, Error> {
        serde_json::from_str(&self.stdout).map_err(|source| Error::Json {
            what: "command".to_owned(),
            source,
        })
    }
}

/// Removes every variable that could point a client elsewhere or change its output format:
/// `BAO_*`, `VAULT_*` (the bao CLI falls back to them), proxies (the targets are loopback).
pub(crate) fn scrub_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let Some(k) = key.to_str() else { continue };
        let upper = k.to_ascii_uppercase();
        if upper.starts_with("BAO_")
            || upper.starts_with("VAULT_")
            || upper == "HTTP_PROXY"
            || upper == "HTTPS_PROXY"
            || upper == "ALL_PROXY"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost,::1");
    cmd.env("no_proxy", "127.0.0.1,localhost,::1");
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Runs `cmd` to completion with no stdin, killing it after `timeout`. `what` names it in
/// errors (keep arguments out of it: they may hold unseal keys or tokens).
pub(crate) fn run(mut cmd: Command, what: &str, timeout: Duration) -> Result<CmdOutput, Error> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| Error::Io {
        what: format!("spawn {what}"),
        source,
    })?;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let status = wait_with_deadline(&mut child, what, timeout)?;
    let text = |h: Option<JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    Ok(CmdOutput {
        code: status.code().unwrap_or(-1),
        stdout: text(out),
        stderr: text(err),
    })
}

fn wait_with_deadline(
    child: &mut Child,
    what: &str,
    timeout: Duration,
) -> Result<std::process::ExitStatus, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Timeout {
                    what: what.to_owned(),
                    secs: timeout.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(source) => {
                return Err(Error::Io {
                    what: format!("wait for {what}"),
                    source,
                });
            }
        }
    }
}
