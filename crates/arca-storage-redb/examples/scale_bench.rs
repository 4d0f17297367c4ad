//! Measures what the server's restart and write benchmarks exercise: reopening a large
//! database (after a clean close and after a crash), and durable puts from concurrent writers.
//!
//! `cargo run --release -p arca-storage-redb --example scale_bench [-- KEYS [DIR]]`
//!
//! 1. Writes KEYS (default 100 000) keys of 200 bytes in 1 000-key transactions in a child
//!    process that then either drops the storage (clean close) or is SIGKILLed (crash), and
//!    times the reopen in a fresh child process, with its resident memory after the open.
//! 2. Durable puts of 200-byte values from 1, 16 and 64 concurrent tasks for 3 s each, on a
//!    2-worker tokio runtime as on the benchmark machine.
//!
//! `scale_bench needs-repair FILE` tells whether a (stopped) server's database file was left
//! needing repair, i.e. was not closed cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arca_storage::{Storage, TxnOp};
use arca_storage_redb::RedbStorage;

const VALUE_LEN: usize = 200;
const WRITE_SECONDS: u64 = 3;

fn key(i: u64) -> String {
    format!("logical/kv/data/app-{:03}/secret-{i:07}", i % 997)
}

fn value(i: u64) -> Vec<u8> {
    let mut v = i.to_le_bytes().to_vec();
    v.resize(VALUE_LEN, 0x5A);
    v
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Resident memory now and at its peak, from /proc (Linux only; zeros elsewhere).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Child: fill the database, then close cleanly or wait to be killed.
fn child_fill(path: &Path, keys: u64, crash: bool) {
    let rt = runtime();
    rt.block_on(async {
        let s = RedbStorage::open(path).unwrap();
        let mut i = 0;
        while i < keys {
            let end = (i + 1000).min(keys);
            let ops = (i..end)
                .map(|j| TxnOp::Put {
                    key: key(j),
                    value: value(j),
                })
                .collect();
            s.transaction(ops).await.unwrap();
            i = end;
        }
        // One last ordinary single-key commit, as a server's last write would be.
        s.put("logical/last", b"x").await.unwrap();
        if crash {
            println!("ready");
            std::thread::sleep(Duration::from_secs(600));
        }
        drop(s);
    });
}

/// Child: time the open, read one key, report memory.
fn child_open(path: &Path) {
    let start = Instant::now();
    let s = RedbStorage::open(path).unwrap();
    let opened = start.elapsed();
    let rt = runtime();
    let got = rt.block_on(s.get(&key(7))).unwrap();
    assert!(got.is_some());
    let (rss, hwm) = rss_mib();
    println!(
        "open {:.1} ms, RSS after open+get {rss:.1} MiB (peak {hwm:.1} MiB)",
        opened.as_secs_f64() * 1e3
    );
}

fn run_child(args: &[&str]) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn reopen_case(dir: &Path, keys: u64, crash: bool) {
    let path = dir.join(if crash { "crash.redb" } else { "clean.redb" });
    let p = path.to_str().unwrap();
    let n = keys.to_string();
    let start = Instant::now();
    if crash {
        let mut child = run_child(&["child-fill", p, &n, "crash"]);
        let mut line = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    } else {
        let out = run_child(&["child-fill", p, &n, "clean"])
            .wait_with_output()
            .unwrap();
        assert!(out.status.success());
    }
    let fill = start.elapsed();
    let size = std::fs::metadata(&path).unwrap().len() as f64 / (1024.0 * 1024.0);
    for attempt in 0..2 {
        let out = run_child(&["child-open", p]).wait_with_output().unwrap();
        assert!(out.status.success());
        println!(
            "{keys} keys, {} ({size:.0} MiB file, filled in {:.1} s), reopen {}: {}",
            if crash {
                "after SIGKILL"
            } else {
                "after clean close"
            },
            fill.as_secs_f64(),
            attempt + 1,
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
}

fn concurrent_puts(dir: &Path, writers: u64) {
    let path = dir.join(format!("puts-{writers}.redb"));
    let rt = runtime();
    rt.block_on(async {
        let s = Arc::new(RedbStorage::open(&path).unwrap());
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (s, done, stop) = (Arc::clone(&s), Arc::clone(&done), Arc::clone(&stop));
            tasks.push(tokio::spawn(async move {
                let mut i = w * 1_000_000;
                while !stop.load(Ordering::Relaxed) {
                    s.put(&key(i), &value(i)).await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            }));
        }
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(WRITE_SECONDS)).await;
        stop.store(true, Ordering::Relaxed);
        let n = done.load(Ordering::Relaxed);
        let elapsed = start.elapsed();
        for t in tasks {
            t.await.unwrap();
        }
        println!(
            "durable puts, {writers:>2} concurrent writers: {:.0} puts/s",
            n as f64 / elapsed.as_secs_f64()
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-fill") => {
            return child_fill(
                Path::new(&args[2]),
                args[3].parse().unwrap(),
                args[4] == "crash",
            );
        }
        Some("child-open") => return child_open(Path::new(&args[2])),
        // Whether a database file (e.g. a stopped server's) was left needing repair.
        Some("needs-repair") => {
            let repaired = std::rc::Rc::new(std::cell::Cell::new(false));
            let flag = std::rc::Rc::clone(&repaired);
            let start = Instant::now();
            let db = redb::Builder::new()
                .set_repair_callback(move |_| flag.set(true))
                .open(&args[2])
                .unwrap();
            let opened = start.elapsed();
            drop(db);
            return println!(
                "needs repair: {}, open {:.1} ms",
                repaired.get(),
                opened.as_secs_f64() * 1e3
            );
        }
        _ => {}
    }
    let keys: u64 = args.get(1).map_or(100_000, |k| k.parse().unwrap());
    let base: PathBuf = args.get(2).map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::tempdir_in(base).unwrap();
    reopen_case(dir.path(), keys, false);
    reopen_case(dir.path(), keys, true);
    for writers in [1, 16, 64] {
        concurrent_puts(dir.path(), writers);
    }
}
