//! Markdown rendering of the results: one column per server, side by side.

use std::fmt::Write as _;
use std::time::Duration;

use crate::load::RunResult;

/// Everything measured for one server. `startup` is `Err(reason)` when the server could not be measured.
#[derive(Debug)]
pub struct ServerReport {
    pub name: &'static str,
    pub version: Option<String>,
    pub startup: Result<Duration, String>,
    pub idle_rss_kib: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    pub runs: Vec<RunRow>,
}

impl ServerReport {
    pub fn not_measured(name: &'static str, version: Option<String>, reason: String) -> Self {
        ServerReport {
            name,
            version,
            startup: Err(reason),
            idle_rss_kib: None,
            peak_rss_kib: None,
            runs: Vec::new(),
        }
    }

    fn run(&self, scenario: &str, clients: usize) -> Option<&Result<RunResult, String>> {
        self.runs
            .iter()
            .find(|r| r.scenario == scenario && r.clients == clients)
            .map(|r| &r.result)
    }
}

#[derive(Debug)]
pub struct RunRow {
    pub scenario: &'static str,
    pub clients: usize,
    pub result: Result<RunResult, String>,
}

/// The conditions of the run, printed above the tables.
#[derive(Debug)]
pub struct Meta {
    pub date: String,
    pub machine: String,
    pub commit: Option<String>,
    pub warmup: Duration,
    pub duration: Duration,
    pub idle_wait: Duration,
    pub client_threads: usize,
}

const NA: &str = "n/a";

/// Share of its threads' capacity above which the load generator, not the server, limits throughput.
const SATURATED: f64 = 0.9;

pub fn render(meta: &Meta, servers: &[ServerReport], scenarios: &[(&str, &[usize])]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# arca-bench, {}\n", meta.date);
    let _ = writeln!(out, "- machine: {}", meta.machine);
    if let Some(c) = &meta.commit {
        let _ = writeln!(out, "- arca commit: {c}");
    }
    for s in servers {
        let _ = writeln!(
            out,
            "- {}: {}",
            s.name,
            s.version.as_deref().unwrap_or("version unknown")
        );
    }
    let _ = writeln!(
        out,
        "- each cell: {} warm-up, then {} timed; closed loop, one keep-alive HTTP/1.1 connection per client; \
         load generator on {} thread(s) of the same machine; servers run one at a time; idle RSS read {} after ready",
        fmt_dur(meta.warmup),
        fmt_dur(meta.duration),
        meta.client_threads,
        fmt_dur(meta.idle_wait),
    );

    // Startup and memory.
    let _ = writeln!(out, "\n## Startup and memory\n");
    header(&mut out, "", servers.iter().map(|s| s.name.to_owned()));
    row(
        &mut out,
        "startup to ready (ms)",
        servers.iter().map(|s| match &s.startup {
            Ok(d) => format!("{:.1}", d.as_secs_f64() * 1e3),
            Err(_) => NA.into(),
        }),
    );
    row(
        &mut out,
        "idle RSS (MiB)",
        servers.iter().map(|s| mib(s.idle_rss_kib)),
    );
    row(
        &mut out,
        "peak RSS after load (MiB)",
        servers.iter().map(|s| mib(s.peak_rss_kib)),
    );

    // Throughput and latency.
    let _ = writeln!(out, "\n## Throughput and latency\n");
    let mut cols = vec!["clients".to_owned()];
    for metric in ["req/s", "p50 (µs)", "p99 (µs)", "errors", "CPU/req (µs)"] {
        for s in servers {
            cols.push(format!("{} {metric}", s.name));
        }
    }
    header(&mut out, "scenario", cols.into_iter());
    let mut failures = Vec::new();
    let mut saturated = Vec::new();
    for &(scenario, concurrency) in scenarios {
        for &clients in concurrency {
            let cells = |f: &dyn Fn(&RunResult) -> String| -> Vec<String> {
                servers
                    .iter()
                    .map(|s| match s.run(scenario, clients) {
                        Some(Ok(r)) => f(r),
                        Some(Err(_)) => "failed".into(),
                        None => NA.into(),
                    })
                    .collect()
            };
            let mut line = vec![clients.to_string()];
            line.extend(cells(&|r| format!("{:.0}", r.rps())));
            line.extend(cells(&|r| micros(r.p50)));
            line.extend(cells(&|r| micros(r.p99)));
            line.extend(cells(&|r| r.errors.to_string()));
            line.extend(cells(&|r| {
                r.cpu_per_request().map_or_else(|| NA.into(), micros)
            }));
            row(&mut out, scenario, line.into_iter());
            for s in servers {
                match s.run(scenario, clients) {
                    Some(Err(e)) => failures.push(format!(
                        "{} {scenario} x{clients}: {}",
                        s.name,
                        first_line(e)
                    )),
                    Some(Ok(r)) => {
                        if let Some(cores) = r
                            .client_cores
                            .filter(|&c| c >= SATURATED * meta.client_threads as f64)
                        {
                            saturated.push(format!(
                                "{} {scenario} x{clients}: load generator busy {cores:.2} of {} core(s)",
                                s.name, meta.client_threads
                            ));
                        }
                    }
                    None => {}
                }
            }
        }
    }

    let not_measured: Vec<String> = servers
        .iter()
        .filter_map(|s| {
            s.startup
                .as_ref()
                .err()
                .map(|e| format!("{}: {}", s.name, first_line(e)))
        })
        .collect();
    if !saturated.is_empty() {
        let _ = writeln!(
            out,
            "\n## Load generator saturated\n\nIn these cells the client, not the server, set the pace: req/s is a \
             lower bound for the server (try `--client-threads 2`, which takes CPU from the server instead).\n"
        );
        for line in &saturated {
            let _ = writeln!(out, "- {line}");
        }
    }
    if !not_measured.is_empty() || !failures.is_empty() {
        let _ = writeln!(out, "\n## Not measured\n");
        for line in not_measured.iter().chain(&failures) {
            let _ = writeln!(out, "- {line}");
        }
    }
    out
}

fn header(out: &mut String, first: &str, cols: impl Iterator<Item = String>) {
    let cols: Vec<String> = cols.collect();
    let _ = writeln!(out, "| {first} | {} |", cols.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(cols.len()));
}

fn row(out: &mut String, first: &str, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells.collect();
    let _ = writeln!(out, "| {first} | {} |", cells.join(" | "));
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| NA.into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn micros(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 100.0 {
        format!("{us:.0}")
    } else {
        format!("{us:.1}")
    }
}

pub fn fmt_dur(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            date: "2026-01-01 00:00 UTC".into(),
            machine: "test".into(),
            commit: None,
            warmup: Duration::from_secs(1),
            duration: Duration::from_millis(1500),
            idle_wait: Duration::from_secs(2),
            client_threads: 1,
        }
    }

    #[test]
    fn missing_server_is_na_beside_a_measured_one() {
        let bao = ServerReport {
            name: "bao",
            version: Some("OpenBao v2".into()),
            startup: Ok(Duration::from_millis(1234)),
            idle_rss_kib: Some(2048),
            peak_rss_kib: Some(4096),
            runs: vec![RunRow {
                scenario: "sys/health",
                clients: 1,
                result: Ok(RunResult {
                    ok: 1000,
                    errors: 0,
                    elapsed: Duration::from_secs(2),
                    p50: Duration::from_micros(42),
                    p99: Duration::from_micros(250),
                    max: Duration::from_millis(1),
                    total_requests: 2000,
                    server_cpu: Some(Duration::from_millis(100)),
                    client_cores: Some(0.95),
                }),
            }],
        };
        let arca = ServerReport::not_measured("arca", None, "no binary\nmore".into());
        let md = render(&meta(), &[arca, bao], &[("sys/health", &[1])]);
        assert!(
            md.contains("| startup to ready (ms) | n/a | 1234.0 |"),
            "{md}"
        );
        assert!(md.contains("| idle RSS (MiB) | n/a | 2.0 |"), "{md}");
        assert!(
            md.contains(
                "| sys/health | 1 | n/a | 500 | n/a | 42.0 | n/a | 250 | n/a | 0 | n/a | 50.0 |"
            ),
            "{md}"
        );
        assert!(md.contains("- arca: no binary\n"), "{md}");
        assert!(md.contains("1s warm-up, then 1500ms timed"), "{md}");
        assert!(
            md.contains("- bao sys/health x1: load generator busy 0.95 of 1 core(s)"),
            "{md}"
        );
    }
}
