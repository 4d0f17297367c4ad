//! `arca-bench`: starts Arca's and OpenBao's dev servers one after the other on loopback ports and
//! measures, for each, startup-to-ready time, idle RSS, and throughput and p50/p99 latency of the
//! scenarios in `scenarios.rs` at each requested concurrency. Prints a markdown table, servers side by side.
//!
//! A measurement tool, not a test: it depends on no Arca crate and talks to the servers only over HTTP,
//! so it measures exactly what a client sees. See bench/README.md.

mod client;
mod load;
mod report;
mod scenarios;
mod server;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;

use report::{Meta, RunRow, ServerReport};
use scenarios::{SCENARIOS, Scenario};
use server::{RunningServer, ServerSpec};

#[derive(Debug, Parser)]
#[command(
    about = "Compare Arca and OpenBao dev servers: throughput, latency, startup time, memory"
)]
struct Args {
    /// Arca binary (e.g. target/release/arca). Missing or not starting: arca is reported as n/a.
    #[arg(long)]
    arca_bin: Option<PathBuf>,
    /// OpenBao binary. Missing or not starting: bao is reported as n/a.
    #[arg(long)]
    bao_bin: Option<PathBuf>,
    /// Timed length of each scenario run (e.g. 10s, 500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unrecorded load before each timed run.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Wait between ready and the idle RSS reading.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    idle_wait: Duration,
    /// Give up on a server that has not answered 200 on sys/health after this long.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    ready_timeout: Duration,
    /// Concurrent clients, comma separated; each client is one keep-alive connection.
    /// Default: each scenario's own list (see scenarios.rs); given, it applies to every scenario.
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Scenario names to run, comma separated (default: all).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Worker threads of the load generator, which shares the machine with the server.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Also write the markdown report here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()
        .context("build runtime")?;
    rt.block_on(async_main(args))
}

async fn async_main(args: Args) -> Result<()> {
    let scenarios = select_scenarios(&args.scenarios)?;
    if args.concurrency.as_ref().is_some_and(|c| c.contains(&0)) {
        bail!("--concurrency values must be at least 1");
    }
    let workdir = tempfile::Builder::new()
        .prefix("arca-bench-")
        .tempdir()
        .context("create work dir")?;

    let specs = [
        ("arca", args.arca_bin.clone(), &["version"][..]),
        ("bao", args.bao_bin.clone(), &["version"][..]),
    ];
    // Other work on the machine skews every figure; record how busy it was when we started.
    let load_at_start = load_average();
    let mut reports = Vec::new();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("install SIGTERM handler")?;
    for (name, bin, version_args) in specs {
        let Some(bin) = bin else {
            reports.push(ServerReport::not_measured(
                name,
                None,
                "no binary given".into(),
            ));
            continue;
        };
        // Absolute, because the child runs in its own working directory.
        let bin = match std::fs::canonicalize(&bin) {
            Ok(b) if b.is_file() => b,
            _ => {
                eprintln!("{name}: {} not found, reporting n/a", bin.display());
                let reason = format!("{} not found", bin.display());
                reports.push(ServerReport::not_measured(name, None, reason));
                continue;
            }
        };
        let spec = ServerSpec {
            name,
            bin,
            version_args,
        };
        if server::is_script(&spec.bin) {
            eprintln!(
                "warning: {} is a script; its interpreter start is counted in startup time (see bench/README.md)",
                spec.bin.display()
            );
        }
        // Dropping `measure` (Ctrl-C, SIGTERM) drops the RunningServer inside it, which kills the child.
        let measure = measure_server(spec, &args, &scenarios, workdir.path());
        let report = tokio::select! {
            r = measure => r,
            _ = tokio::signal::ctrl_c() => return Err(anyhow!("interrupted")),
            _ = terminate.recv() => return Err(anyhow!("terminated")),
        };
        reports.push(report);
    }

    let meta = Meta {
        date: now_utc(),
        machine: format!(
            "{}; 1-min load average {} at start, {} at end",
            machine_summary(),
            load_at_start.as_deref().unwrap_or("?"),
            load_average().as_deref().unwrap_or("?"),
        ),
        commit: git_commit(),
        warmup: args.warmup,
        duration: args.duration,
        idle_wait: args.idle_wait,
        client_threads: args.client_threads.max(1),
    };
    let plan: Vec<(&str, &[usize])> = scenarios
        .iter()
        .map(|s| (s.name, client_counts(s, &args)))
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

/// Measures one server end to end. Never fails: what could not be measured is recorded in the report.
async fn measure_server(
    spec: ServerSpec,
    args: &Args,
    scenarios: &[Scenario],
    workdir: &std::path::Path,
) -> ServerReport {
    let name = spec.name;
    let version = spec.version().await;
    eprintln!("{name}: starting {}", spec.bin.display());
    let (server, startup) = match RunningServer::start(&spec, workdir, args.ready_timeout).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: not measured: {e:#}");
            return ServerReport::not_measured(name, version, format!("{e:#}"));
        }
    };
    eprintln!(
        "{name}: ready on {} after {:.1} ms",
        server.addr,
        startup.as_secs_f64() * 1e3
    );
    tokio::time::sleep(args.idle_wait).await;
    let idle_rss_kib = server.rss_kib().ok();

    let mut runs = Vec::new();
    for scenario in scenarios {
        let setup = run_setup(&server, scenario).await;
        for &clients in client_counts(scenario, args) {
            let result = match &setup {
                Err(e) => Err(format!("setup failed: {e:#}")),
                Ok(()) => {
                    let cpu_before = server.cpu_time().ok();
                    let own_before = server::process_cpu_time(std::process::id()).ok();
                    let wall = std::time::Instant::now();
                    let run = load::run(
                        server.addr,
                        scenario.req,
                        clients,
                        args.warmup,
                        args.duration,
                    )
                    .await;
                    let cpu_after = server.cpu_time().ok();
                    let own_after = server::process_cpu_time(std::process::id()).ok();
                    let wall = wall.elapsed().as_secs_f64();
                    run.map(|mut r| {
                        r.server_cpu = cpu_before.zip(cpu_after).map(|(b, a)| a.saturating_sub(b));
                        r.client_cores = own_before
                            .zip(own_after)
                            .filter(|_| wall > 0.0)
                            .map(|(b, a)| a.saturating_sub(b).as_secs_f64() / wall);
                        r
                    })
                    .map_err(|e| format!("{e:#}"))
                }
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
            runs.push(RunRow {
                scenario: scenario.name,
                clients,
                result,
            });
        }
    }
    let peak_rss_kib = server.peak_rss_kib().ok();
    server.stop().await;
    ServerReport {
        name,
        version,
        startup: Ok(startup),
        idle_rss_kib,
        peak_rss_kib,
        runs,
    }
}

/// The client counts to run `scenario` at: `--concurrency` if given, else the scenario's own.
fn client_counts<'a>(scenario: &'a Scenario, args: &'a Args) -> &'a [usize] {
    args.concurrency.as_deref().unwrap_or(scenario.clients)
}

async fn run_setup(server: &RunningServer, scenario: &Scenario) -> Result<()> {
    for step in scenario.setup {
        let (status, _) = client::one_shot(server.addr, step).await?;
        if !status.is_success() {
            bail!("{} {} answered {status}", step.verb.method(), step.path);
        }
    }
    Ok(())
}

fn select_scenarios(names: &[String]) -> Result<Vec<Scenario>> {
    if names.is_empty() {
        return Ok(SCENARIOS.to_vec());
    }
    names
        .iter()
        .map(|n| {
            SCENARIOS
                .iter()
                .find(|s| s.name == n)
                .copied()
                .ok_or_else(|| {
                    let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                    anyhow!("unknown scenario {n:?}; known: {}", known.join(", "))
                })
        })
        .collect()
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
    fn scenarios_select_by_name() {
        assert_eq!(select_scenarios(&[]).unwrap().len(), SCENARIOS.len());
        let one = select_scenarios(&["sys/seal-status".into()]).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].name, "sys/seal-status");
        assert!(select_scenarios(&["nope".into()]).is_err());
    }

    #[test]
    fn client_counts_default_per_scenario_and_flag_overrides() {
        let tokens = select_scenarios(&["token/lookup-self".into()]).unwrap()[0];
        let kv = select_scenarios(&["kv/get".into()]).unwrap()[0];
        let a = Args::try_parse_from(["arca-bench"]).unwrap();
        assert_eq!(client_counts(&tokens, &a), &[1, 16, 64]);
        assert_eq!(client_counts(&kv, &a), &[1, 16]);
        let a = Args::try_parse_from(["arca-bench", "--concurrency", "4"]).unwrap();
        assert_eq!(client_counts(&tokens, &a), &[4]);
        assert_eq!(client_counts(&kv, &a), &[4]);
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
            "--out",
            "bench/results/x.md",
        ])
        .unwrap();
        assert_eq!(a.concurrency, Some(vec![1, 16]));
        assert_eq!(a.duration, Duration::from_secs(10));
    }
}
