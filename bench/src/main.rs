//! `arca-bench`: measures Arca beside OpenBao on the same machine in one run. For each server in turn
//! it starts a dev (in-memory) server and a persistent one (Arca's embedded storage, OpenBao's raft),
//! runs the scenarios of `scenarios.rs` against each (KV v2, logins, transit, database credentials,
//! audit), measures start-up to serving with many stored secrets, memory, and prints a markdown report
//! with the Arca/OpenBao ratios.
//!
//! A measurement tool, not a test: it depends on no Arca crate and talks to the servers only over HTTP,
//! so it measures exactly what a client sees. See bench/README.md.

mod client;
mod load;
mod pg;
mod pin;
mod report;
mod scenarios;
mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use http::Method;
use serde_json::json;

use client::{Req, call};
use pg::Pg;
use report::{Meta, RunRow, Scale, ServerReport, Session, TimedRow};
use scenarios::{Ctx, JwtKey, Kind, Mode, ROOT_TOKEN, SCENARIOS, Scenario};
use server::{Flavor, RunningServer, ServerSpec};

#[derive(Debug, Parser)]
#[command(about = "Compare Arca and OpenBao: throughput, latency, startup time, memory")]
struct Args {
    /// Arca binary (e.g. target/release/arca). Missing or not starting: arca is reported as n/a.
    #[arg(long)]
    arca_bin: Option<PathBuf>,
    /// OpenBao binary (the real Go binary, not pip's Python wrapper). Missing: bao is n/a.
    #[arg(long)]
    bao_bin: Option<PathBuf>,
    /// Timed length of each load run (e.g. 4s, 500ms, 1m).
    #[arg(long, default_value = "4s", value_parser = parse_duration)]
    duration: Duration,
    /// Unrecorded load before each timed run.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Wait between ready and the idle RSS reading.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    idle_wait: Duration,
    /// Give up on a server that is not serving after this long.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    ready_timeout: Duration,
    /// Concurrent clients, comma separated; each client is one keep-alive connection.
    /// Default: each scenario's own list (see scenarios.rs); given, it applies to every load scenario.
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Scenario names to run, comma separated; `all` adds the extra ones (default: the default set).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// KV v2 secrets written to the persistent servers before the restart measurement; 0 skips it.
    #[arg(long, default_value_t = 100_000)]
    scale_secrets: u64,
    /// Skip the persistent-storage servers (durable writes and the restart with stored secrets).
    #[arg(long)]
    no_persistent: bool,
    /// Pin servers to CPU 0 and the load generator to CPU 1 (`--pin=false` to turn off). On by
    /// default when at least 2 CPUs are available.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pin: Option<bool>,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// PostgreSQL for the database scenarios (trust authentication on loopback).
    #[arg(long, default_value = "127.0.0.1")]
    pg_host: String,
    #[arg(long, default_value_t = 5432)]
    pg_port: u16,
    #[arg(long, default_value = "test")]
    pg_db: String,
    #[arg(long, default_value = "postgres")]
    pg_user: String,
    /// Also write the markdown report here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The CPUs servers and load generator are pinned to, if pinning is on.
#[derive(Debug, Clone, Copy)]
struct Pinning {
    server: usize,
    client: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    // Before pinning, which narrows what this process sees to one CPU.
    let machine = machine_summary();
    let pinning = match args.pin {
        Some(false) => None,
        Some(true) if pin::available_cpus() < 2 => bail!("--pin needs at least 2 CPUs"),
        _ if pin::available_cpus() < 2 => None,
        _ => Some(Pinning {
            server: 0,
            client: 1,
        }),
    };
    if let Some(p) = pinning {
        // Before the runtime exists: its threads inherit this thread's mask.
        pin::pin_current_thread(p.client)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()
        .context("build runtime")?;
    rt.block_on(async_main(args, pinning, machine))
}

async fn async_main(args: Args, pinning: Option<Pinning>, machine: String) -> Result<()> {
    let scenarios = select_scenarios(&args.scenarios)?;
    if args.concurrency.as_ref().is_some_and(|c| c.contains(&0)) {
        bail!("--concurrency values must be at least 1");
    }
    let workdir = tempfile::Builder::new()
        .prefix("arca-bench-")
        .tempdir()
        .context("create work dir")?;
    let jwt = Arc::new(JwtKey::generate()?);
    let pg = Pg {
        host: args.pg_host.clone(),
        port: args.pg_port,
        db: args.pg_db.clone(),
        user: args.pg_user.clone(),
    };
    if scenarios.iter().any(|s| s.name.starts_with("database/"))
        && let Err(e) = pg.check().await
    {
        eprintln!("warning: PostgreSQL not reachable ({e:#}); the database scenarios will fail");
    }

    let mut specs = Vec::new();
    let mut reports = Vec::new();
    for (name, flavor, bin) in [
        ("arca", Flavor::Arca, args.arca_bin.clone()),
        ("bao", Flavor::Bao, args.bao_bin.clone()),
    ] {
        let Some(bin) = bin else {
            reports.push(ServerReport::not_measured(
                name,
                None,
                "no binary given".into(),
            ));
            specs.push(None);
            continue;
        };
        // Absolute, because the child runs in its own working directory.
        let bin = match std::fs::canonicalize(&bin) {
            Ok(b) if b.is_file() => b,
            _ => {
                eprintln!("{name}: {} not found, reporting n/a", bin.display());
                let reason = format!("{} not found", bin.display());
                reports.push(ServerReport::not_measured(name, None, reason));
                specs.push(None);
                continue;
            }
        };
        let spec = ServerSpec {
            name,
            flavor,
            bin,
            version_args: &["version"],
            cpu: pinning.map(|p| p.server),
        };
        if server::is_script(&spec.bin) {
            eprintln!(
                "warning: {} is a script; its interpreter start is counted in startup time (see bench/README.md)",
                spec.bin.display()
            );
        }
        reports.push(ServerReport::new(name, spec.version().await));
        specs.push(Some(spec));
    }

    // Other work on the machine skews every figure; record how busy it was when we started.
    let load_at_start = load_average();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("install SIGTERM handler")?;
    let env = Env {
        args: &args,
        workdir: workdir.path(),
        jwt,
        pg,
    };
    // Servers alternate within each mode (dev arca, dev bao, persistent arca, persistent bao), so a
    // slow drift of the machine does not fall on one server only.
    let mut modes = vec![Mode::Dev];
    if !args.no_persistent {
        modes.push(Mode::Persistent);
    }
    for mode in modes {
        for (spec, report) in specs.iter().zip(reports.iter_mut()) {
            let Some(spec) = spec else { continue };
            // Dropping the session future (Ctrl-C, SIGTERM) drops its RunningServer, which kills the child.
            let session = async {
                match mode {
                    Mode::Dev => report.dev = Some(dev_session(spec, &env, &scenarios).await),
                    Mode::Persistent => {
                        let (session, scale) = persistent_session(spec, &env, &scenarios).await;
                        report.persistent = Some(session);
                        report.scale = scale;
                    }
                }
            };
            tokio::select! {
                () = session => {}
                _ = tokio::signal::ctrl_c() => return Err(anyhow!("interrupted")),
                _ = terminate.recv() => return Err(anyhow!("terminated")),
            }
        }
    }

    let meta = Meta {
        date: now_utc(),
        machine: format!(
            "{machine}; 1-min load average {} at start, {} at end",
            load_at_start.as_deref().unwrap_or("?"),
            load_average().as_deref().unwrap_or("?"),
        ),
        commit: git_commit(),
        warmup: args.warmup,
        duration: args.duration,
        idle_wait: args.idle_wait,
        client_threads: args.client_threads.max(1),
        pinning: pinning.map_or_else(
            || "none".to_owned(),
            |p| {
                format!(
                    "servers on CPU {}, load generator on CPU {}",
                    p.server, p.client
                )
            },
        ),
        scale_secrets: args.scale_secrets,
    };
    let plan: Vec<report::Planned> = scenarios
        .iter()
        .map(|s| report::Planned {
            name: s.name,
            mode: s.mode,
            clients: match s.kind {
                Kind::Load { .. } => client_counts(s, &args).to_vec(),
                Kind::Timed(_) => Vec::new(),
            },
        })
        .collect();
    let md = report::render(&meta, &reports, &plan);
    print!("{md}");
    if let Some(out) = &args.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        std::fs::write(out, &md).with_context(|| format!("write {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// What every session shares.
struct Env<'a> {
    args: &'a Args,
    workdir: &'a Path,
    jwt: Arc<JwtKey>,
    pg: Pg,
}

impl Env<'_> {
    fn ctx(&self, spec: &ServerSpec, server: &RunningServer, token: &str) -> Ctx {
        Ctx {
            addr: server.addr,
            token: token.to_owned(),
            name: spec.name,
            workdir: self.workdir.to_owned(),
            jwt: self.jwt.clone(),
            pg: self.pg.clone(),
        }
    }
}

/// A dev server: start-up, idle RSS, then the dev scenarios. Never fails: what could not be measured
/// is recorded in the session.
async fn dev_session(spec: &ServerSpec, env: &Env<'_>, scenarios: &[Scenario]) -> Session {
    let name = spec.name;
    eprintln!("{name}: starting dev server {}", spec.bin.display());
    let (server, startup) =
        match RunningServer::start_dev(spec, env.workdir, env.args.ready_timeout).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{name}: dev server not measured: {e:#}");
                return Session::failed(format!("{e:#}"));
            }
        };
    eprintln!(
        "{name}: dev server ready on {} after {:.1} ms",
        server.addr,
        startup.as_secs_f64() * 1e3
    );
    tokio::time::sleep(env.args.idle_wait).await;
    let mut session = Session::started(startup, server.rss_kib().ok());
    session.idle_rss_anon_kib = server.rss_anon_kib().ok();
    let ctx = env.ctx(spec, &server, ROOT_TOKEN);
    run_scenarios(&server, &ctx, env.args, scenarios, Mode::Dev, &mut session).await;
    session.peak_rss_kib = server.peak_rss_kib().ok();
    server.stop().await;
    session
}

/// Initialises (one key share) and unseals a fresh persistent server; returns the unseal key and the
/// root token.
async fn init_and_unseal(
    server: &mut RunningServer,
    timeout: Duration,
) -> Result<(String, String)> {
    server
        .wait_status(
            &Req::get("/v1/sys/seal-status"),
            |s| s.is_success(),
            timeout,
        )
        .await?;
    let init = call(
        server.addr,
        &Req::new(Method::PUT, "/v1/sys/init")
            .json(&json!({"secret_shares": 1, "secret_threshold": 1})),
    )
    .await?;
    let key = init["keys"][0]
        .as_str()
        .ok_or_else(|| anyhow!("init returned no key"))?
        .to_owned();
    let token = init["root_token"]
        .as_str()
        .ok_or_else(|| anyhow!("init returned no root token"))?
        .to_owned();
    unseal(server, &key, timeout).await?;
    Ok((key, token))
}

/// Unseals and waits until the server is active (`sys/health` 200: OpenBao's raft node has elected
/// itself leader).
async fn unseal(server: &mut RunningServer, key: &str, timeout: Duration) -> Result<()> {
    call(
        server.addr,
        &Req::new(Method::PUT, "/v1/sys/unseal").json(&json!({"key": key})),
    )
    .await?;
    server
        .wait_status(
            &Req::get("/v1/sys/health"),
            |s| s == http::StatusCode::OK,
            timeout,
        )
        .await
}

/// A persistent server: init, unseal, mount KV v2 at `secret/`, the persistent scenarios, then (unless
/// `--scale-secrets 0`) write that many secrets, stop it, and time the restart to serving.
async fn persistent_session(
    spec: &ServerSpec,
    env: &Env<'_>,
    scenarios: &[Scenario],
) -> (Session, Option<Result<Scale, String>>) {
    let name = spec.name;
    let data = env.workdir.join(format!("{name}-data"));
    let result = persistent_session_inner(spec, env, scenarios, &data).await;
    // Up to a few GiB of raft log and snapshots on the machine's disk.
    let _ = std::fs::remove_dir_all(&data);
    match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: persistent server not measured: {e:#}");
            (Session::failed(format!("{e:#}")), None)
        }
    }
}

async fn persistent_session_inner(
    spec: &ServerSpec,
    env: &Env<'_>,
    scenarios: &[Scenario],
    data: &Path,
) -> Result<(Session, Option<Result<Scale, String>>)> {
    let name = spec.name;
    let args = env.args;
    let addr = server::free_loopback_addr()?;
    let server_args = spec.persistent_args(addr, data)?;
    eprintln!("{name}: starting persistent server");
    let mut server = RunningServer::spawn(
        spec,
        &server_args,
        addr,
        env.workdir,
        &format!("{name}-persistent"),
    )?;
    let (key, token) = init_and_unseal(&mut server, args.ready_timeout).await?;
    let startup = server.since_spawn();
    eprintln!(
        "{name}: persistent server initialised and unsealed after {:.1} ms",
        startup.as_secs_f64() * 1e3
    );
    let ctx = env.ctx(spec, &server, &token);
    call(
        addr,
        &Req::new(Method::POST, "/v1/sys/mounts/secret")
            .token(&token)
            .json(&json!({"type": "kv", "options": {"version": "2"}})),
    )
    .await?;
    // OpenBao answers 400 ("upgrading") for a moment after a KV v2 mount.
    let probe = Req::new(Method::PUT, "/v1/secret/data/bench-probe")
        .token(&token)
        .json(&json!({"data": {"v": "x"}}));
    server
        .wait_status(&probe, |s| s.is_success(), args.ready_timeout)
        .await?;
    tokio::time::sleep(args.idle_wait).await;
    let mut session = Session::started(startup, server.rss_kib().ok());
    session.idle_rss_anon_kib = server.rss_anon_kib().ok();
    run_scenarios(
        &server,
        &ctx,
        args,
        scenarios,
        Mode::Persistent,
        &mut session,
    )
    .await;
    session.peak_rss_kib = server.peak_rss_kib().ok();
    if args.scale_secrets == 0 {
        server.stop().await;
        return Ok((session, None));
    }
    let scale = scale(spec, env, server, addr, &server_args, &key, &token).await;
    if let Err(e) = &scale {
        eprintln!("{name}: scale measurement failed: {e:#}");
    }
    Ok((session, Some(scale.map_err(|e| format!("{e:#}")))))
}

/// Writes `--scale-secrets` KV v2 secrets at 64 clients, stops the server (SIGTERM), starts it again
/// and times spawn → unsealed → a stored secret read back; then reads RSS.
async fn scale(
    spec: &ServerSpec,
    env: &Env<'_>,
    server: RunningServer,
    addr: std::net::SocketAddr,
    server_args: &[String],
    key: &str,
    token: &str,
) -> Result<Scale> {
    let name = spec.name;
    let n = env.args.scale_secrets;
    eprintln!("{name}: writing {n} secrets");
    let write_req = Req::new(Method::PUT, "/v1/secret/data/scale/0")
        .token(token)
        .json(
            &json!({"data": {"username": "app", "password": "Zs4cQ0t3XwM9pL2vB7nR1kD8hF6jY5aE"}}),
        );
    let make = Arc::new(move |i: u64| Req {
        path: format!("/v1/secret/data/scale/{i}"),
        ..write_req.clone()
    });
    let write_time = load::run_count(addr, 64, n, make).await?;
    let rss_after_write_kib = server.rss_kib().ok();
    eprintln!(
        "{name}: wrote {n} secrets in {:.1} s; stopping",
        write_time.as_secs_f64()
    );
    server.shutdown().await;

    let mut server = RunningServer::spawn(
        spec,
        server_args,
        addr,
        env.workdir,
        &format!("{name}-restart"),
    )?;
    let timeout = env.args.ready_timeout.max(Duration::from_secs(300));
    server
        .wait_status(
            &Req::get("/v1/sys/seal-status"),
            |s| s.is_success(),
            timeout,
        )
        .await?;
    let answering = server.since_spawn();
    unseal(&mut server, key, timeout).await?;
    let last = Req::get(format!("/v1/secret/data/scale/{}", n - 1)).token(token);
    server
        .wait_status(&last, |s| s == http::StatusCode::OK, timeout)
        .await?;
    let restart_to_serving = server.since_spawn();
    eprintln!(
        "{name}: restarted with {n} secrets: answering after {:.1} ms, serving after {:.1} ms",
        answering.as_secs_f64() * 1e3,
        restart_to_serving.as_secs_f64() * 1e3
    );
    tokio::time::sleep(env.args.idle_wait).await;
    let rss_with_secrets_kib = server.rss_kib().ok();
    server.stop().await;
    Ok(Scale {
        write_time,
        rss_after_write_kib,
        answering,
        restart_to_serving,
        rss_with_secrets_kib,
    })
}

/// Runs the scenarios of `mode` against `server`, appending results to `session`.
async fn run_scenarios(
    server: &RunningServer,
    ctx: &Ctx,
    args: &Args,
    scenarios: &[Scenario],
    mode: Mode,
    session: &mut Session,
) {
    let name = ctx.name;
    for scenario in scenarios.iter().filter(|s| s.mode == mode) {
        match scenario.kind {
            Kind::Timed(f) => {
                eprintln!("{name}: {} ...", scenario.name);
                let result = f(ctx).await.map_err(|e| format!("{e:#}"));
                match &result {
                    Ok(t) => eprintln!(
                        "{name}: {}: {:.2} s ({})",
                        scenario.name,
                        t.value.as_secs_f64(),
                        t.note
                    ),
                    Err(e) => eprintln!("{name}: {}: failed: {e}", scenario.name),
                }
                session.timed.push(TimedRow {
                    scenario: scenario.name,
                    result,
                });
            }
            Kind::Load { setup, cleanup } => {
                let req = setup(ctx).await;
                for &clients in client_counts(scenario, args) {
                    let (result, rss_kib) = match &req {
                        Err(e) => (Err(format!("setup failed: {e:#}")), None),
                        Ok(req) => measure(server, req, clients, args).await,
                    };
                    match &result {
                        Ok(r) => eprintln!(
                            "{name}: {} x{clients}: {:.0} req/s, p50 {:?}, p99 {:?}, {} errors, server CPU/req {:?}, load generator {:.2} cores",
                            scenario.name,
                            r.rps(),
                            r.p50,
                            r.p99,
                            r.errors,
                            r.cpu_per_request(),
                            r.client_cores.unwrap_or(f64::NAN),
                        ),
                        Err(e) => eprintln!("{name}: {} x{clients}: failed: {e}", scenario.name),
                    }
                    session.runs.push(RunRow {
                        scenario: scenario.name,
                        clients,
                        result,
                        rss_kib,
                    });
                }
                if let Some(cleanup) = cleanup
                    && let Err(e) = cleanup(ctx).await
                {
                    // A cleanup that failed leaves state (an audit device, say) that would skew
                    // every later cell: stop this server's scenarios; they show as n/a.
                    eprintln!(
                        "{name}: {} cleanup failed, skipping the remaining {mode:?} scenarios: {e:#}",
                        scenario.name
                    );
                    return;
                }
            }
        }
    }
}

/// One load cell: warm-up and timed run, the server's CPU time over both, and its RSS half-way
/// through the timed window.
async fn measure(
    server: &RunningServer,
    req: &Req,
    clients: usize,
    args: &Args,
) -> (Result<load::RunResult, String>, Option<u64>) {
    let cpu_before = server.cpu_time().ok();
    let own_before = server::process_cpu_time(std::process::id()).ok();
    let wall = std::time::Instant::now();
    let pid = server.pid();
    let sample_at = args.warmup + args.duration / 2;
    let sampler = tokio::spawn(async move {
        tokio::time::sleep(sample_at).await;
        server::rss_kib_of(pid).ok()
    });
    let run = load::run(server.addr, req, clients, args.warmup, args.duration).await;
    let rss = sampler.await.ok().flatten();
    let cpu_after = server.cpu_time().ok();
    let own_after = server::process_cpu_time(std::process::id()).ok();
    let wall = wall.elapsed().as_secs_f64();
    let result = run
        .map(|mut r| {
            r.server_cpu = cpu_before.zip(cpu_after).map(|(b, a)| a.saturating_sub(b));
            r.client_cores = own_before
                .zip(own_after)
                .filter(|_| wall > 0.0)
                .map(|(b, a)| a.saturating_sub(b).as_secs_f64() / wall);
            r
        })
        .map_err(|e| format!("{e:#}"));
    (result, rss)
}

/// The client counts to run `scenario` at: `--concurrency` if given, else the scenario's own.
fn client_counts<'a>(scenario: &'a Scenario, args: &'a Args) -> &'a [usize] {
    args.concurrency.as_deref().unwrap_or(scenario.clients)
}

fn select_scenarios(names: &[String]) -> Result<Vec<Scenario>> {
    if names.is_empty() {
        return Ok(SCENARIOS.iter().filter(|s| s.default).copied().collect());
    }
    if names.iter().any(|n| n == "all") {
        return Ok(SCENARIOS.to_vec());
    }
    for n in names {
        if !SCENARIOS.iter().any(|s| s.name == n) {
            let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
            bail!("unknown scenario {n:?}; known: all, {}", known.join(", "));
        }
    }
    // Table order, not command-line order: the audit cell follows its baseline.
    Ok(SCENARIOS
        .iter()
        .filter(|s| names.iter().any(|n| n == s.name))
        .copied()
        .collect())
}

/// Parses `10s`, `500ms`, `2m` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("bad duration unit in {s:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("bad duration {s:?}"))
}

fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    )
}

fn machine_summary() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| server::parse_status_kib(&m, "MemTotal"))
        .map_or_else(
            || "? GiB".into(),
            |k| format!("{:.0} GiB", k as f64 / 1024.0 / 1024.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "?".into(), |k| k.trim().to_owned());
    format!("{cpus} CPUs ({model}), {mem_gib} RAM, Linux {kernel}")
}

fn load_average() -> Option<String> {
    let l = std::fs::read_to_string("/proc/loadavg").ok()?;
    l.split_whitespace().next().map(str::to_owned)
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn scenarios_select_by_name_in_table_order() {
        let default = select_scenarios(&[]).unwrap();
        assert!(default.iter().all(|s| s.default));
        assert!(default.iter().any(|s| s.name == "durable/kv/put"));
        assert!(!default.iter().any(|s| s.name == "sys/health"));
        assert_eq!(
            select_scenarios(&["all".into()]).unwrap().len(),
            SCENARIOS.len()
        );
        let two = select_scenarios(&["kv/get+audit".into(), "kv/get".into()]).unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].name, "kv/get");
        assert!(select_scenarios(&["nope".into()]).is_err());
    }

    #[test]
    fn client_counts_default_per_scenario_and_flag_overrides() {
        let kv = select_scenarios(&["kv/get".into()]).unwrap()[0];
        let login = select_scenarios(&["approle/login".into()]).unwrap()[0];
        let a = Args::try_parse_from(["arca-bench"]).unwrap();
        assert_eq!(client_counts(&kv, &a), &[1, 16, 64]);
        assert_eq!(client_counts(&login, &a), &[16]);
        let a = Args::try_parse_from(["arca-bench", "--concurrency", "4"]).unwrap();
        assert_eq!(client_counts(&kv, &a), &[4]);
        assert_eq!(client_counts(&login, &a), &[4]);
    }

    #[test]
    fn cli_parses_documented_invocation() {
        let a = Args::try_parse_from([
            "arca-bench",
            "--arca-bin",
            "target/release/arca",
            "--bao-bin",
            "/usr/bin/bao",
            "--duration",
            "10s",
            "--concurrency",
            "1,16",
            "--pin=false",
            "--scale-secrets",
            "1000",
            "--out",
            "bench/results/x.md",
        ])
        .unwrap();
        assert_eq!(a.concurrency, Some(vec![1, 16]));
        assert_eq!(a.duration, Duration::from_secs(10));
        assert_eq!(a.pin, Some(false));
        assert_eq!(a.scale_secrets, 1000);
        let a = Args::try_parse_from(["arca-bench", "--pin"]).unwrap();
        assert_eq!(a.pin, Some(true));
        assert_eq!(Args::try_parse_from(["arca-bench"]).unwrap().pin, None);
    }
}
