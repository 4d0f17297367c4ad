//! Markdown rendering of the results: Arca and OpenBao side by side, with their ratio.

use std::fmt::Write as _;
use std::time::Duration;

use crate::load::RunResult;
use crate::scenarios::{Mode, Timed};

/// Everything measured for one server.
#[derive(Debug)]
pub struct ServerReport {
    pub name: &'static str,
    pub version: Option<String>,
    /// Why nothing was measured (no binary), if so.
    pub not_measured: Option<String>,
    pub dev: Option<Session>,
    pub persistent: Option<Session>,
    pub scale: Option<Result<Scale, String>>,
}

impl ServerReport {
    pub fn new(name: &'static str, version: Option<String>) -> Self {
        ServerReport {
            name,
            version,
            not_measured: None,
            dev: None,
            persistent: None,
            scale: None,
        }
    }

    pub fn not_measured(name: &'static str, version: Option<String>, reason: String) -> Self {
        ServerReport {
            not_measured: Some(reason),
            ..ServerReport::new(name, version)
        }
    }

    fn session(&self, mode: Mode) -> Option<&Session> {
        match mode {
            Mode::Dev => self.dev.as_ref(),
            Mode::Persistent => self.persistent.as_ref(),
        }
    }

    fn run(
        &self,
        mode: Mode,
        scenario: &str,
        clients: usize,
    ) -> Option<&Result<RunResult, String>> {
        self.session(mode)?
            .runs
            .iter()
            .find(|r| r.scenario == scenario && r.clients == clients)
            .map(|r| &r.result)
    }

    fn ok_run(&self, mode: Mode, scenario: &str, clients: usize) -> Option<&RunResult> {
        self.run(mode, scenario, clients)?.as_ref().ok()
    }

    fn timed(&self, scenario: &str) -> Option<&Result<Timed, String>> {
        [&self.dev, &self.persistent]
            .into_iter()
            .flatten()
            .flat_map(|s| &s.timed)
            .find(|t| t.scenario == scenario)
            .map(|t| &t.result)
    }

    fn scale_ok(&self) -> Option<&Scale> {
        self.scale.as_ref()?.as_ref().ok()
    }
}

/// One server process (dev or persistent).
#[derive(Debug)]
pub struct Session {
    /// Spawn to serving (dev) or to initialised and unsealed (persistent); `Err` if it never was.
    pub startup: Result<Duration, String>,
    pub idle_rss_kib: Option<u64>,
    /// Anonymous part of the idle RSS (`RssAnon`).
    pub idle_rss_anon_kib: Option<u64>,
    /// `VmHWM` when the session's scenarios are done.
    pub peak_rss_kib: Option<u64>,
    pub runs: Vec<RunRow>,
    pub timed: Vec<TimedRow>,
}

impl Session {
    pub fn started(startup: Duration, idle_rss_kib: Option<u64>) -> Self {
        Session {
            startup: Ok(startup),
            idle_rss_kib,
            idle_rss_anon_kib: None,
            peak_rss_kib: None,
            runs: Vec::new(),
            timed: Vec::new(),
        }
    }

    pub fn failed(reason: String) -> Self {
        Session {
            startup: Err(reason),
            idle_rss_kib: None,
            idle_rss_anon_kib: None,
            peak_rss_kib: None,
            runs: Vec::new(),
            timed: Vec::new(),
        }
    }

    /// The largest RSS sampled half-way through the KV v2 load cells (without audit).
    fn kv_load_rss_kib(&self) -> Option<u64> {
        self.runs
            .iter()
            .filter(|r| r.scenario == "kv/get" || r.scenario == "kv/put")
            .filter_map(|r| r.rss_kib)
            .max()
    }
}

#[derive(Debug)]
pub struct RunRow {
    pub scenario: &'static str,
    pub clients: usize,
    pub result: Result<RunResult, String>,
    /// Server RSS half-way through the timed window.
    pub rss_kib: Option<u64>,
}

#[derive(Debug)]
pub struct TimedRow {
    pub scenario: &'static str,
    pub result: Result<Timed, String>,
}

/// The persistent server filled with secrets and restarted.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Writing them at 64 clients.
    pub write_time: Duration,
    pub rss_after_write_kib: Option<u64>,
    /// Spawn to the first answer of `sys/seal-status` (sealed).
    pub answering: Duration,
    /// Spawn to unsealed, active and a stored secret read back (the unseal call included).
    pub restart_to_serving: Duration,
    /// Idle RSS after the restart (`--idle-wait` after serving).
    pub rss_with_secrets_kib: Option<u64>,
}

/// A scenario as run: its name, mode and client counts (none for a timed measurement).
#[derive(Debug)]
pub struct Planned {
    pub name: &'static str,
    pub mode: Mode,
    pub clients: Vec<usize>,
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
    pub pinning: String,
    pub scale_secrets: u64,
}

const NA: &str = "n/a";

/// Share of its threads' capacity above which the load generator, not the server, limits throughput.
const SATURATED: f64 = 0.9;

fn mode_label(m: Mode) -> &'static str {
    match m {
        Mode::Dev => "dev",
        Mode::Persistent => "durable",
    }
}

/// Renders the report. `servers` are Arca then OpenBao; ratios are Arca's figure over OpenBao's for
/// rates (higher is better for Arca) and OpenBao's over Arca's for sizes and times (likewise).
pub fn render(meta: &Meta, servers: &[ServerReport], plan: &[Planned]) -> String {
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
    let _ = writeln!(out, "- CPU pinning: {}", meta.pinning);
    let _ = writeln!(
        out,
        "- each load cell: {} warm-up, then {} timed; closed loop, one keep-alive HTTP/1.1 connection per client; \
         load generator on {} thread(s); servers run one at a time; idle RSS read {} after ready",
        fmt_dur(meta.warmup),
        fmt_dur(meta.duration),
        meta.client_threads,
        fmt_dur(meta.idle_wait),
    );
    let _ = writeln!(
        out,
        "- ratios: **A/B** = Arca ÷ OpenBao for rates (req/s; > 1: Arca faster); **B/A** = OpenBao ÷ Arca \
         for sizes and times (MiB, ms, s; > 1: Arca smaller or quicker)"
    );
    let (a, b) = match servers {
        [a, b, ..] => (a, b),
        _ => return out,
    };

    targets(&mut out, meta, a, b);
    memory(&mut out, meta, a, b);
    throughput(&mut out, meta, servers, a, b, plan);
    timed(&mut out, a, b, plan);
    audit(&mut out, a, b);
    problems(&mut out, servers);
    out
}

/// The issues' targets, each as a ratio from this run.
fn targets(out: &mut String, meta: &Meta, a: &ServerReport, b: &ServerReport) {
    let _ = writeln!(out, "\n## Targets from the issues\n");
    let _ = writeln!(
        out,
        "| target | arca | bao | ratio | goal | met |\n|---|---:|---:|---:|---:|:---:|"
    );
    let rps =
        |s: &ServerReport, m: Mode, sc: &str, c: usize| s.ok_run(m, sc, c).map(RunResult::rps);
    let mut line = |label: String,
                    av: Option<f64>,
                    bv: Option<f64>,
                    unit: Fmt,
                    arca_over_bao: bool,
                    goal: f64| {
        let r = if arca_over_bao {
            div(av, bv)
        } else {
            div(bv, av)
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} {goal}× | {} |",
            unit.show(av),
            unit.show(bv),
            show_ratio(r, if arca_over_bao { "A/B" } else { "B/A" }),
            if arca_over_bao { "A/B ≥" } else { "B/A ≥" },
            met(r.map(|r| r >= goal)),
        );
    };
    line(
        "KV v2 read, 16 clients, dev (req/s)".into(),
        rps(a, Mode::Dev, "kv/get", 16),
        rps(b, Mode::Dev, "kv/get", 16),
        Fmt::Int,
        true,
        5.0,
    );
    for c in [1, 16, 64] {
        line(
            format!("KV v2 write, {c} client(s), embedded vs raft (req/s)"),
            rps(a, Mode::Persistent, "durable/kv/put", c),
            rps(b, Mode::Persistent, "durable/kv/put", c),
            Fmt::Int,
            true,
            3.0,
        );
    }
    let idle = |s: &ServerReport| s.dev.as_ref().and_then(|d| d.idle_rss_kib).map(kib_to_mib);
    line(
        "idle RSS, dev (MiB)".into(),
        idle(a),
        idle(b),
        Fmt::One,
        false,
        4.0,
    );
    let n = meta.scale_secrets;
    let serve = |s: &ServerReport| {
        s.scale_ok()
            .map(|x| x.restart_to_serving.as_secs_f64() * 1e3)
    };
    line(
        format!("restart to serving with {n} secrets (ms)"),
        serve(a),
        serve(b),
        Fmt::One,
        false,
        1.0,
    );
    let rss = |s: &ServerReport| {
        s.scale_ok()
            .and_then(|x| x.rss_with_secrets_kib)
            .map(kib_to_mib)
    };
    line(
        format!("RSS with {n} secrets (MiB)"),
        rss(a),
        rss(b),
        Fmt::One,
        false,
        4.0,
    );
    let (al, bl) = (audit_loss(a), audit_loss(b));
    let _ = writeln!(
        out,
        "| KV v2 read x16 throughput lost to a file audit device | {} | {} | | arca ≤ bao | {} |",
        pct(al),
        pct(bl),
        met(al.zip(bl).map(|(x, y)| x <= y)),
    );
    let (ac, bc) = (audit_cpu_increase(a), audit_cpu_increase(b));
    let _ = writeln!(
        out,
        "| KV v2 read x16 server CPU/req added by a file audit device | {} | {} | | arca ≤ bao | {} |",
        pct(ac),
        pct(bc),
        met(ac.zip(bc).map(|(x, y)| x <= y)),
    );
}

fn memory(out: &mut String, meta: &Meta, a: &ServerReport, b: &ServerReport) {
    let _ = writeln!(out, "\n## Startup and memory\n");
    let _ = writeln!(out, "| | arca | bao | B/A |\n|---|---:|---:|---:|");
    let mut line = |label: &str, f: &dyn Fn(&ServerReport) -> Option<f64>, unit: Fmt| {
        let (av, bv) = (f(a), f(b));
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} |",
            unit.show(av),
            unit.show(bv),
            show_ratio(div(bv, av), "")
        );
    };
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    line(
        "dev: spawn to ready (ms)",
        &|s| s.dev.as_ref()?.startup.as_ref().ok().map(ms),
        Fmt::One,
    );
    line(
        "dev: idle RSS (MiB)",
        &|s| s.dev.as_ref()?.idle_rss_kib.map(kib_to_mib),
        Fmt::One,
    );
    line(
        "dev: idle RSS, anonymous part only (MiB)",
        &|s| s.dev.as_ref()?.idle_rss_anon_kib.map(kib_to_mib),
        Fmt::One,
    );
    line(
        "dev: RSS under KV load (MiB)",
        &|s| s.dev.as_ref()?.kv_load_rss_kib().map(kib_to_mib),
        Fmt::One,
    );
    line(
        "dev: peak RSS after all dev scenarios (MiB)",
        &|s| s.dev.as_ref()?.peak_rss_kib.map(kib_to_mib),
        Fmt::One,
    );
    if a.persistent.is_none() && b.persistent.is_none() {
        return;
    }
    line(
        "durable: spawn to initialised and unsealed, empty (ms)",
        &|s| s.persistent.as_ref()?.startup.as_ref().ok().map(ms),
        Fmt::One,
    );
    line(
        "durable: idle RSS, empty (MiB)",
        &|s| s.persistent.as_ref()?.idle_rss_kib.map(kib_to_mib),
        Fmt::One,
    );
    let n = meta.scale_secrets;
    if n == 0 {
        return;
    }
    line(
        &format!("durable: writing {n} secrets at 64 clients (s)"),
        &|s| s.scale_ok().map(|x| x.write_time.as_secs_f64()),
        Fmt::Two,
    );
    line(
        &format!("durable: RSS right after writing {n} secrets (MiB)"),
        &|s| s.scale_ok()?.rss_after_write_kib.map(kib_to_mib),
        Fmt::One,
    );
    line(
        &format!("restart with {n} secrets: spawn to first HTTP answer, sealed (ms)"),
        &|s| s.scale_ok().map(|x| ms(&x.answering)),
        Fmt::One,
    );
    line(
        &format!("restart with {n} secrets: spawn to serving, unseal included (ms)"),
        &|s| s.scale_ok().map(|x| ms(&x.restart_to_serving)),
        Fmt::One,
    );
    line(
        &format!("restart with {n} secrets: idle RSS (MiB)"),
        &|s| s.scale_ok()?.rss_with_secrets_kib.map(kib_to_mib),
        Fmt::One,
    );
}

fn throughput(
    out: &mut String,
    meta: &Meta,
    servers: &[ServerReport],
    a: &ServerReport,
    b: &ServerReport,
    plan: &[Planned],
) {
    let _ = writeln!(out, "\n## Throughput and latency\n");
    let _ = writeln!(
        out,
        "| mode | scenario | clients | arca req/s | bao req/s | A/B | arca p50 (µs) | bao p50 (µs) | arca p99 (µs) | bao p99 (µs) | arca CPU/req (µs) | bao CPU/req (µs) | errors arca/bao |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in plan {
        for &c in &p.clients {
            let cell = |s: &ServerReport, f: &dyn Fn(&RunResult) -> String| match s
                .run(p.mode, p.name, c)
            {
                Some(Ok(r)) => f(r),
                Some(Err(_)) => "failed".into(),
                None => NA.into(),
            };
            let rps = |r: &RunResult| format!("{:.0}", r.rps());
            let p50 = |r: &RunResult| micros(r.p50);
            let p99 = |r: &RunResult| micros(r.p99);
            let cpu = |r: &RunResult| r.cpu_per_request().map_or_else(|| NA.into(), micros);
            let errs = |r: &RunResult| r.errors.to_string();
            let ratio = div(
                a.ok_run(p.mode, p.name, c).map(RunResult::rps),
                b.ok_run(p.mode, p.name, c).map(RunResult::rps),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {c} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |",
                mode_label(p.mode),
                p.name,
                cell(a, &rps),
                cell(b, &rps),
                show_ratio(ratio, ""),
                cell(a, &p50),
                cell(b, &p50),
                cell(a, &p99),
                cell(b, &p99),
                cell(a, &cpu),
                cell(b, &cpu),
                cell(a, &errs),
                cell(b, &errs),
            );
        }
    }
    let mut saturated = Vec::new();
    for s in servers {
        for sess in [&s.dev, &s.persistent].into_iter().flatten() {
            for r in &sess.runs {
                if let Ok(res) = &r.result
                    && let Some(cores) = res
                        .client_cores
                        .filter(|&c| c >= SATURATED * meta.client_threads as f64)
                {
                    saturated.push(format!(
                        "{} {} x{}: load generator busy {cores:.2} of {} core(s)",
                        s.name, r.scenario, r.clients, meta.client_threads
                    ));
                }
            }
        }
    }
    if !saturated.is_empty() {
        let _ = writeln!(
            out,
            "\n### Load generator saturated\n\nIn these cells the client, not the server, set the pace: req/s is a \
             lower bound for the server; the CPU/req figure still holds.\n"
        );
        for line in &saturated {
            let _ = writeln!(out, "- {line}");
        }
    }
}

fn timed(out: &mut String, a: &ServerReport, b: &ServerReport, plan: &[Planned]) {
    let names: Vec<&str> = plan
        .iter()
        .filter(|p| p.clients.is_empty())
        .map(|p| p.name)
        .collect();
    if names.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## Timed measurements\n");
    let _ = writeln!(
        out,
        "| measurement | arca (s) | bao (s) | B/A | how (arca; bao) |\n|---|---:|---:|---:|---|"
    );
    for name in names {
        let v = |s: &ServerReport| match s.timed(name) {
            Some(Ok(t)) => (Some(t.value.as_secs_f64()), t.note.clone()),
            Some(Err(e)) => (None, format!("failed: {}", first_line(e))),
            None => (None, NA.into()),
        };
        let ((av, an), (bv, bn)) = (v(a), v(b));
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {an}; {bn} |",
            Fmt::Two.show(av),
            Fmt::Two.show(bv),
            show_ratio(div(bv, av), ""),
        );
    }
}

/// The audit comparison's baseline: KV v2 read at 16 measured right before the audited run, else
/// the main `kv/get` cell.
fn audit_baseline(s: &ServerReport) -> Option<&RunResult> {
    s.ok_run(Mode::Dev, "kv/get-before-audit", 16)
        .or_else(|| s.ok_run(Mode::Dev, "kv/get", 16))
}

/// Throughput lost to the audit device: 1 − (req/s with audit ÷ req/s without), KV v2 read at 16.
fn audit_loss(s: &ServerReport) -> Option<f64> {
    let without = audit_baseline(s)?.rps();
    let with = s.ok_run(Mode::Dev, "kv/get+audit", 16)?.rps();
    (without > 0.0).then(|| 1.0 - with / without)
}

/// Server CPU per request added by the audit device: CPU/req with ÷ CPU/req without − 1. Steadier
/// than throughput on a busy machine.
fn audit_cpu_increase(s: &ServerReport) -> Option<f64> {
    let without = audit_baseline(s)?.cpu_per_request()?.as_secs_f64();
    let with = s
        .ok_run(Mode::Dev, "kv/get+audit", 16)?
        .cpu_per_request()?
        .as_secs_f64();
    (without > 0.0).then(|| with / without - 1.0)
}

fn audit(out: &mut String, a: &ServerReport, b: &ServerReport) {
    if a.run(Mode::Dev, "kv/get+audit", 16).is_none()
        && b.run(Mode::Dev, "kv/get+audit", 16).is_none()
    {
        return;
    }
    let _ = writeln!(
        out,
        "\n## Audit cost (dev, KV v2 read, 16 clients; baseline measured just before)\n"
    );
    let _ = writeln!(
        out,
        "| server | req/s, no audit | req/s, file audit | throughput lost | p50 no audit (µs) | p50 file audit (µs) | CPU/req no audit (µs) | CPU/req file audit (µs) | CPU/req added |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for s in [a, b] {
        let r0 = audit_baseline(s);
        let r1 = s.ok_run(Mode::Dev, "kv/get+audit", 16);
        let f = |r: Option<&RunResult>, g: &dyn Fn(&RunResult) -> String| {
            r.map_or_else(|| NA.into(), g)
        };
        let rps = |r: &RunResult| format!("{:.0}", r.rps());
        let p50 = |r: &RunResult| micros(r.p50);
        let cpu = |r: &RunResult| r.cpu_per_request().map_or_else(|| NA.into(), micros);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.name,
            f(r0, &rps),
            f(r1, &rps),
            pct(audit_loss(s)),
            f(r0, &p50),
            f(r1, &p50),
            f(r0, &cpu),
            f(r1, &cpu),
            pct(audit_cpu_increase(s)),
        );
    }
}

fn problems(out: &mut String, servers: &[ServerReport]) {
    let mut lines = Vec::new();
    for s in servers {
        if let Some(r) = &s.not_measured {
            lines.push(format!("{}: {}", s.name, first_line(r)));
        }
        for (label, sess) in [("dev", &s.dev), ("durable", &s.persistent)] {
            let Some(sess) = sess else { continue };
            if let Err(e) = &sess.startup {
                lines.push(format!("{} {label} server: {}", s.name, first_line(e)));
            }
            for r in &sess.runs {
                if let Err(e) = &r.result {
                    lines.push(format!(
                        "{} {} x{}: {}",
                        s.name,
                        r.scenario,
                        r.clients,
                        first_line(e)
                    ));
                }
            }
            for t in &sess.timed {
                if let Err(e) = &t.result {
                    lines.push(format!("{} {}: {}", s.name, t.scenario, first_line(e)));
                }
            }
        }
        if let Some(Err(e)) = &s.scale {
            lines.push(format!(
                "{} restart with stored secrets: {}",
                s.name,
                first_line(e)
            ));
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "\n## Not measured\n");
        for line in &lines {
            let _ = writeln!(out, "- {line}");
        }
    }
}

#[derive(Clone, Copy)]
enum Fmt {
    Int,
    One,
    Two,
}

impl Fmt {
    fn show(self, v: Option<f64>) -> String {
        match (self, v) {
            (_, None) => NA.into(),
            (Fmt::Int, Some(v)) => format!("{v:.0}"),
            (Fmt::One, Some(v)) => format!("{v:.1}"),
            (Fmt::Two, Some(v)) => format!("{v:.2}"),
        }
    }
}

fn div(n: Option<f64>, d: Option<f64>) -> Option<f64> {
    let (n, d) = (n?, d?);
    (d > 0.0 && n.is_finite()).then_some(n / d)
}

fn show_ratio(r: Option<f64>, label: &str) -> String {
    match r {
        None => NA.into(),
        Some(r) if label.is_empty() => format!("{r:.2}×"),
        Some(r) => format!("{label} {r:.2}×"),
    }
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => NA,
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| NA.into(), |v| format!("{:.1}%", v * 100.0))
}

fn kib_to_mib(k: u64) -> f64 {
    k as f64 / 1024.0
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
            pinning: "none".into(),
            scale_secrets: 100,
        }
    }

    fn result(ok: u64, secs: u64) -> RunResult {
        RunResult {
            ok,
            errors: 0,
            elapsed: Duration::from_secs(secs),
            p50: Duration::from_micros(42),
            p99: Duration::from_micros(250),
            max: Duration::from_millis(1),
            total_requests: 2000,
            server_cpu: Some(Duration::from_millis(100)),
            client_cores: Some(0.95),
        }
    }

    fn session(runs: Vec<RunRow>, idle_kib: u64) -> Session {
        Session {
            runs,
            ..Session::started(Duration::from_millis(1234), Some(idle_kib))
        }
    }

    fn row(scenario: &'static str, ok: u64) -> RunRow {
        RunRow {
            scenario,
            clients: 16,
            result: Ok(result(ok, 1)),
            rss_kib: Some(4096),
        }
    }

    #[test]
    fn ratios_targets_and_missing_servers() {
        let mut arca = ServerReport::new("arca", Some("Arca v0".into()));
        arca.dev = Some(session(
            vec![row("kv/get", 6000), row("kv/get+audit", 5400)],
            1024,
        ));
        let mut bao = ServerReport::new("bao", Some("OpenBao v2".into()));
        bao.dev = Some(session(
            vec![row("kv/get", 1000), row("kv/get+audit", 800)],
            8192,
        ));
        let plan = [
            Planned {
                name: "kv/get",
                mode: Mode::Dev,
                clients: vec![16],
            },
            Planned {
                name: "kv/get+audit",
                mode: Mode::Dev,
                clients: vec![16],
            },
        ];
        let md = render(&meta(), &[arca, bao], &plan);
        assert!(
            md.contains(
                "| KV v2 read, 16 clients, dev (req/s) | 6000 | 1000 | A/B 6.00× | A/B ≥ 5× | yes |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| idle RSS, dev (MiB) | 1.0 | 8.0 | B/A 8.00× | B/A ≥ 4× | yes |"),
            "{md}"
        );
        assert!(
            md.contains("| dev | kv/get | 16 | 6000 | 1000 | 6.00× | 42.0 | 42.0 | 250 | 250 |"),
            "{md}"
        );
        assert!(
            md.contains("file audit device | 10.0% | 20.0% | | arca ≤ bao | yes |"),
            "{md}"
        );
        assert!(
            md.contains("- arca kv/get x16: load generator busy 0.95 of 1 core(s)"),
            "{md}"
        );

        let arca = ServerReport::not_measured("arca", None, "no binary\nmore".into());
        let mut bao = ServerReport::new("bao", None);
        bao.dev = Some(session(vec![row("kv/get", 1000)], 8192));
        let md = render(&meta(), &[arca, bao], &plan[..1]);
        assert!(
            md.contains("| dev | kv/get | 16 | n/a | 1000 | n/a |"),
            "{md}"
        );
        assert!(md.contains("- arca: no binary\n"), "{md}");
        assert!(md.contains("1s warm-up, then 1500ms timed"), "{md}");
    }
}
