//! Measures the embedded backend through the `Storage` trait, as the server uses it.
//!
//! `cargo run --release -p arca-storage-redb --example storage_bench [-- DIR]`
//!
//! Workload (the one of rust-stack.md A.6): 2 000 durable single-key puts of 512-byte
//! values in 50 folders of 40 keys, 20 000 random gets, 200 lists of a 40-key folder; plus
//! durable two-key transactions, concurrent puts, and the raw fsync rate of the disk for
//! context. The database goes into a temporary directory under DIR (default: the system
//! temporary directory; pass a directory on the disk you care about).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arca_storage::{Storage, TxnOp};
use arca_storage_redb::RedbStorage;

const FOLDERS: u64 = 50;
const PER_FOLDER: u64 = 40;
const GETS: u64 = 20_000;
const LISTS: u64 = 200;
const TXNS: u64 = 500;
const CONCURRENT_TASKS: u64 = 16;
const CONCURRENT_PER_TASK: u64 = 125;
const VALUE_LEN: usize = 512;

fn key(i: u64) -> String {
    format!("logical/bench/{:02}/{:02}", i / PER_FOLDER, i % PER_FOLDER)
}

fn value(i: u64) -> Vec<u8> {
    let mut v = i.to_le_bytes().to_vec();
    v.resize(VALUE_LEN, 0xA5);
    v
}

/// A small deterministic generator, so runs are comparable.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn rate(n: u64, d: Duration) -> String {
    let per_s = n as f64 / d.as_secs_f64();
    if per_s >= 1e6 {
        format!("{:.2} M/s", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.1} k/s", per_s / 1e3)
    } else {
        format!("{per_s:.0} /s")
    }
}

/// write(512 B) + fdatasync, the floor under any durable commit on this disk.
fn raw_fsync_rate(dir: &Path) -> String {
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let n = 500;
    let start = Instant::now();
    for i in 0..n {
        f.write_all(&value(i)).unwrap();
        f.sync_data().unwrap();
    }
    let d = start.elapsed();
    drop(f);
    std::fs::remove_file(&path).unwrap();
    rate(n, d)
}

async fn run(dir: &Path) {
    let path = dir.join("bench.redb");
    let s: Arc<dyn Storage> = Arc::new(RedbStorage::open(&path).unwrap());
    let n_puts = FOLDERS * PER_FOLDER;

    let start = Instant::now();
    for i in 0..n_puts {
        s.put(&key(i), &value(i)).await.unwrap();
    }
    let puts = start.elapsed();

    let start = Instant::now();
    for i in 0..TXNS {
        let ops = vec![
            TxnOp::Put {
                key: format!("core/txn/{i}/a"),
                value: value(i),
            },
            TxnOp::Put {
                key: format!("core/txn/{i}/b"),
                value: value(i),
            },
        ];
        s.transaction(ops).await.unwrap();
    }
    let txns = start.elapsed();

    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENT_TASKS {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for i in 0..CONCURRENT_PER_TASK {
                s.put(&format!("conc/{t}/{i}"), &value(i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = start.elapsed();

    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let start = Instant::now();
    for _ in 0..GETS {
        let i = rng.below(n_puts);
        let v = s.get(&key(i)).await.unwrap().unwrap();
        assert_eq!(v.len(), VALUE_LEN);
    }
    let gets = start.elapsed();

    let start = Instant::now();
    for _ in 0..LISTS {
        let f = rng.below(FOLDERS);
        let names = s.list(&format!("logical/bench/{f:02}/")).await.unwrap();
        assert_eq!(names.len() as u64, PER_FOLDER);
    }
    let lists = start.elapsed();

    // The folder level: 50 children, each skipped over with one seek.
    let start = Instant::now();
    for _ in 0..LISTS {
        assert_eq!(
            s.list("logical/bench/").await.unwrap().len() as u64,
            FOLDERS
        );
    }
    let folder_lists = start.elapsed();

    drop(s);
    let size = std::fs::metadata(&path).unwrap().len();
    let start = Instant::now();
    let reopened = RedbStorage::open(&path).unwrap();
    let reopen = start.elapsed();
    assert!(reopened.get(&key(0)).await.unwrap().is_some());
    drop(reopened);

    // The same gets straight on redb, without the trait and the blocking-pool hop, to show
    // what that hop costs.
    let db = redb::Database::open(&path).unwrap();
    let table_def: redb::TableDefinition<'_, &str, &[u8]> = redb::TableDefinition::new("arca_kv");
    let start = Instant::now();
    for _ in 0..GETS {
        let i = rng.below(n_puts);
        let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
        let table = txn.open_table(table_def).unwrap();
        assert_eq!(
            table.get(key(i).as_str()).unwrap().unwrap().value().len(),
            VALUE_LEN
        );
    }
    let raw_gets = start.elapsed();
    drop(db);

    println!(
        "  durable puts (512 B, fsync each)      {:>12}  ({n_puts} in {puts:.2?})",
        rate(n_puts, puts)
    );
    println!(
        "  durable 2-key transactions (1PC)      {:>12}  ({TXNS} in {txns:.2?})",
        rate(TXNS, txns)
    );
    let nc = CONCURRENT_TASKS * CONCURRENT_PER_TASK;
    println!(
        "  durable puts, {CONCURRENT_TASKS} concurrent tasks       {:>12}  ({nc} in {concurrent:.2?})",
        rate(nc, concurrent)
    );
    println!(
        "  random gets                           {:>12}  ({GETS} in {gets:.2?})",
        rate(GETS, gets)
    );
    println!(
        "  random gets, raw redb (no trait/hop)  {:>12}  ({GETS} in {raw_gets:.2?})",
        rate(GETS, raw_gets)
    );
    println!(
        "  lists of a 40-key folder              {:>12}  ({LISTS} in {lists:.2?})",
        rate(LISTS, lists)
    );
    println!(
        "  lists of a 50-folder level            {:>12}  ({LISTS} in {folder_lists:.2?})",
        rate(LISTS, folder_lists)
    );
    println!(
        "  on-disk size                          {:>9.2} MiB  ({} keys, {} B of values)",
        size as f64 / (1024.0 * 1024.0),
        n_puts + 2 * TXNS + nc,
        (n_puts + 2 * TXNS + nc) * VALUE_LEN as u64
    );
    println!("  clean reopen                          {reopen:>12.2?}");
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for run_no in 1..=2 {
        let dir = tempfile::tempdir_in(&base).unwrap();
        println!("run {run_no} (in {}):", base.display());
        println!(
            "  raw write+fdatasync                   {:>12}",
            raw_fsync_rate(dir.path())
        );
        rt.block_on(run(dir.path()));
    }
}
