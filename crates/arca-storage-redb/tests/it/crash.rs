//! Crash durability: a child process (this test binary, re-run with an environment
//! variable) writes to the database and reports each acknowledged write on stdout; the
//! parent SIGKILLs it mid-stream, reopens the file and checks that every acknowledged
//! write is there and that the one in flight was applied whole or not at all.
//!
//! The negative control runs the same harness with `unsafe_ack_before_commit` and must
//! find acknowledged writes missing, which shows the harness can detect a lost write.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arca_storage::{Storage, StorageError, TxnOp};
use arca_storage_redb::{RedbOptions, RedbStorage};

const ENV_DB: &str = "ARCA_REDB_CRASH_CHILD_DB";
const ENV_ROUND: &str = "ARCA_REDB_CRASH_CHILD_ROUND";
const ENV_UNSAFE: &str = "ARCA_REDB_CRASH_CHILD_UNSAFE";
/// The full test name of [`crash_child`], for re-running this binary as the child.
const CHILD_TEST: &str = "crash::crash_child";

/// The `i`-th write of a round: mostly puts, every fifth a two-key transaction, every
/// tenth a delete of the previous put.
fn op(round: u32, i: u64) -> Vec<TxnOp> {
    let value = |tag: &str| {
        let mut v = format!("r{round}-i{i}-{tag}-").into_bytes();
        v.resize(512, b'.');
        v
    };
    if i.is_multiple_of(5) {
        let base = format!("r{round}/txn/{i:08}");
        vec![
            TxnOp::Put {
                key: format!("{base}/a"),
                value: value("a"),
            },
            TxnOp::Put {
                key: format!("{base}/b"),
                value: value("b"),
            },
        ]
    } else if i % 10 == 9 {
        vec![TxnOp::Delete {
            key: format!("r{round}/put/{:08}", i - 1),
        }]
    } else {
        vec![TxnOp::Put {
            key: format!("r{round}/put/{i:08}"),
            value: value("p"),
        }]
    }
}

/// The state of a round's keys after its writes `0..n`.
fn replay(round: u32, n: u64) -> BTreeMap<String, Vec<u8>> {
    let mut state = BTreeMap::new();
    for i in 0..n {
        for o in op(round, i) {
            match o {
                TxnOp::Put { key, value } => {
                    state.insert(key, value);
                }
                TxnOp::Delete { key } => {
                    state.remove(&key);
                }
            }
        }
    }
    state
}

/// Every key of a round, read back through the public interface.
async fn read_round(s: &RedbStorage, round: u32) -> BTreeMap<String, Vec<u8>> {
    let mut keys = Vec::new();
    for name in s.list(&format!("r{round}/put/")).await.unwrap() {
        keys.push(format!("r{round}/put/{name}"));
    }
    for folder in s.list(&format!("r{round}/txn/")).await.unwrap() {
        for name in s.list(&format!("r{round}/txn/{folder}")).await.unwrap() {
            keys.push(format!("r{round}/txn/{folder}{name}"));
        }
    }
    let mut state = BTreeMap::new();
    for key in keys {
        let value = s.get(&key).await.unwrap().unwrap();
        state.insert(key, value);
    }
    state
}

/// The child side. Under a normal test run the variable is unset and this does nothing.
#[test]
fn crash_child() {
    let Ok(db) = std::env::var(ENV_DB) else {
        return;
    };
    let round: u32 = std::env::var(ENV_ROUND).unwrap().parse().unwrap();
    let unsafe_ack = std::env::var(ENV_UNSAFE).as_deref() == Ok("1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = RedbStorage::open_with(
            Path::new(&db),
            RedbOptions {
                unsafe_ack_before_commit: unsafe_ack,
            },
        )
        .unwrap();
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
        // Bounded, so that a parent that died without killing us does not leave us behind.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut i = 0;
        while Instant::now() < deadline {
            s.transaction(op(round, i)).await.unwrap();
            // Only now is the write acknowledged.
            writeln!(out, "ack {i}").unwrap();
            out.flush().unwrap();
            i += 1;
        }
    });
}

/// Kills the child if the parent test fails before doing so.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// When [`crash_round`] kills the child.
struct KillAt {
    /// At least this many writes acknowledged...
    acks: u64,
    /// ...and at least this long since the child opened the database...
    min_elapsed: Duration,
    /// ...then wait this long, to land the kill at varying points of a commit.
    delay: Duration,
}

/// Starts a child writing round `round`, SIGKILLs it as `kill` says, and returns how
/// many writes it acknowledged in all.
fn crash_round(path: &Path, round: u32, unsafe_ack: bool, kill: KillAt, check_lock: bool) -> u64 {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV_DB, path)
        .env(ENV_ROUND, round.to_string())
        .env(ENV_UNSAFE, if unsafe_ack { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();

    let mut ready: Option<Instant> = None;
    let mut acked: u64 = 0;
    let mut killed = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        // libtest may print "test crash::crash_child ... " in front of the first line.
        if line.ends_with("ready") {
            ready = Some(Instant::now());
            if check_lock {
                // Another process holds the file: opening it here must fail, clearly.
                match RedbStorage::open(path) {
                    Err(StorageError::Backend(msg)) => {
                        assert!(msg.contains("already open"), "unclear error: {msg}")
                    }
                    Err(other) => panic!("unexpected error kind: {other:?}"),
                    Ok(_) => panic!("a second process could open the database file"),
                }
            }
        } else if let Some(n) = line.strip_prefix("ack ") {
            let n: u64 = n.parse().unwrap();
            assert_eq!(n, acked, "acks arrive in order");
            acked = n + 1;
            if acked >= kill.acks && ready.is_some_and(|t| t.elapsed() >= kill.min_elapsed) {
                std::thread::sleep(kill.delay);
                child.0.kill().unwrap(); // SIGKILL on Unix
                killed = true;
                break;
            }
        }
    }
    assert!(
        ready.is_some() && killed,
        "child ended before it was killed (acked {acked})"
    );
    // Acknowledgements already in the pipe count: the child sent them before it died.
    for line in lines {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("ack ") {
            let n: u64 = n.parse().unwrap();
            assert_eq!(n, acked, "acks arrive in order");
            acked = n + 1;
        }
    }
    let status = child.0.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "child must die of SIGKILL, got {status:?}"
    );
    acked
}

/// Whether the round's keys are exactly the acknowledged writes, plus possibly the one in
/// flight applied whole.
async fn round_is_intact(s: &RedbStorage, round: u32, acked: u64) -> bool {
    let actual = read_round(s, round).await;
    actual == replay(round, acked) || actual == replay(round, acked + 1)
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let mut acked_per_round = Vec::new();
    for round in 0..6u32 {
        let kill = KillAt {
            acks: 20 + 15 * u64::from(round),
            min_elapsed: Duration::ZERO,
            delay: Duration::from_millis(u64::from(round) * 2),
        };
        let acked = crash_round(&path, round, false, kill, round == 0);
        eprintln!("round {round}: {acked} writes acknowledged before SIGKILL");
        acked_per_round.push(acked);
        // Reopening repairs the uncleanly closed file; every round so far must be intact.
        let s = RedbStorage::open(&path).unwrap();
        for (r, acked) in acked_per_round.iter().enumerate() {
            let r = r as u32;
            assert!(
                round_is_intact(&s, r, *acked).await,
                "round {r}: acknowledged writes lost or a transaction torn after SIGKILL"
            );
        }
    }
}

#[tokio::test]
async fn negative_control_unsafe_ack_loses_writes_on_sigkill() {
    // The harness must be able to see a lost write. Retried because a flush could, in
    // principle, land between the child's last acknowledgement and the kill.
    let dir = tempfile::tempdir().unwrap();
    let mut attempts = Vec::new();
    for attempt in 0..3u32 {
        let path = dir.path().join(format!("unsafe{attempt}.redb"));
        // Past the first background flush, so the file holds some writes but not the
        // latest acknowledged ones.
        let kill = KillAt {
            acks: 50,
            min_elapsed: Duration::from_millis(400),
            delay: Duration::ZERO,
        };
        let acked = crash_round(&path, 0, true, kill, false);
        let s = RedbStorage::open(&path).unwrap();
        let survived = read_round(&s, 0).await.len();
        eprintln!("unsafe attempt {attempt}: {acked} acknowledged, {survived} keys survived");
        if !round_is_intact(&s, 0, acked).await {
            return;
        }
        attempts.push((acked, survived));
    }
    panic!(
        "unsafe_ack_before_commit lost no acknowledged write in 3 SIGKILLs (acked, keys found): {attempts:?}"
    );
}
