//! Offline verification of a chained audit log (`arca audit verify FILE...`).
//!
//! Files are read in the order given (oldest first: `audit.log.2 audit.log.1 audit.log`);
//! the chain continues across them. The first problem stops the check and is reported
//! with its file and line number:
//! - **deleted**: the sequence number jumps forward and the missing numbers never appear;
//! - **reordered**: the sequence number jumps forward and the expected one follows soon;
//! - **inserted**: a line repeats or goes back in sequence, or a line with the expected
//!   sequence number whose successor chains to the line before it;
//! - **modified**: a line's hash is not what the next line recorded, or a line's sequence
//!   number was changed;
//! - **malformed**: not a JSON object with chain fields (also a torn write after a crash);
//! - **bad signature**: a checkpoint whose signature does not verify with `--pubkey`.
//!
//! A device's chain never restarts: server restarts, rotations and disable/enable cycles
//! at the same path all continue it, so only the very first line may have `seq` 1.
//!
//! What a valid signature proves: every line up to that checkpoint is exactly as written
//! (the chain commits to them). Lines after the last checkpoint are only chained, so a
//! truncation of the tail after it cannot be detected; the report says how many there are.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::chain::{chain_of, checkpoint_message, json_part};

/// What kind of tampering (or damage) was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Records are missing.
    Deleted,
    /// A record was added.
    Inserted,
    /// Records are out of order.
    Reordered,
    /// A record was changed.
    Modified,
    /// A line is not a chained record.
    Malformed,
    /// A checkpoint's signature is invalid.
    BadSignature,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::Deleted => "deleted",
            ProblemKind::Inserted => "inserted",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Modified => "modified",
            ProblemKind::Malformed => "malformed",
            ProblemKind::BadSignature => "bad signature",
        })
    }
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file holding the offending line.
    pub file: PathBuf,
    /// Its 1-based line number in that file.
    pub line: u64,
    /// What happened.
    pub kind: ProblemKind,
    /// Details (sequence numbers; never record content).
    pub detail: String,
}

/// Where the last checkpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointAt {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line number in it.
    pub line: u64,
    /// Its chain sequence number.
    pub seq: u64,
    /// Its `time` field.
    pub time: String,
    /// Whether its signature was verified (a public key was given).
    pub verified: bool,
}

/// The outcome of [`verify_file`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Lines read.
    pub lines: u64,
    /// Request and response records read.
    pub records: u64,
    /// Checkpoints read.
    pub checkpoints: u64,
    /// Checkpoints whose signature was verified.
    pub signatures_verified: u64,
    /// Sequence number of the first line (1 when the log starts at its beginning).
    pub first_seq: Option<u64>,
    /// Sequence number of the last line.
    pub last_seq: Option<u64>,
    /// The last checkpoint seen.
    pub last_checkpoint: Option<CheckpointAt>,
    /// Lines after the last checkpoint (not covered by any signature).
    pub lines_after_checkpoint: u64,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.problem {
            return write!(
                f,
                "{}:{}: {} record: {}",
                p.file.display(),
                p.line,
                p.kind,
                p.detail
            );
        }
        write!(f, "ok, {} records", self.records)?;
        match &self.last_checkpoint {
            Some(c) => {
                write!(
                    f,
                    ", last checkpoint at {} ({} line {}, seq {}{})",
                    c.time,
                    c.file.display(),
                    c.line,
                    c.seq,
                    if c.verified { ", signature ok" } else { "" }
                )?;
                if self.lines_after_checkpoint > 0 {
                    write!(
                        f,
                        "; {} line(s) after it are not covered by a signature",
                        self.lines_after_checkpoint
                    )?;
                }
            }
            None => f.write_str(", no checkpoint")?,
        }
        if self.checkpoints > 0 && self.signatures_verified == 0 {
            f.write_str(" (signatures not checked: no public key given)")?;
        }
        if let Some(s) = self.first_seq.filter(|s| *s > 1) {
            write!(f, " (the log starts at sequence {s}, not 1)")?;
        }
        Ok(())
    }
}

/// Why a verification could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The public key is not an Ed25519 key in a known encoding.
    #[error("the public key is not an Ed25519 key (PEM, base64 or hex)")]
    PublicKey,
    /// No file was given.
    #[error("no file to verify")]
    NoFiles,
}

/// A line with its position.
struct Line {
    file: usize,
    no: u64,
    bytes: Vec<u8>,
}

/// Reads the lines of several files in order, with lookahead.
struct Lines<'a> {
    paths: &'a [PathBuf],
    current: usize,
    reader: Option<BufReader<File>>,
    no: u64,
    buffer: VecDeque<Line>,
}

impl<'a> Lines<'a> {
    fn new(paths: &'a [PathBuf]) -> Self {
        Self {
            paths,
            current: 0,
            reader: None,
            no: 0,
            buffer: VecDeque::new(),
        }
    }

    fn read_one(&mut self) -> Result<Option<Line>, VerifyError> {
        loop {
            let Some(path) = self.paths.get(self.current) else {
                return Ok(None);
            };
            if self.reader.is_none() {
                let f = File::open(path).map_err(|e| io_err(path, &e))?;
                self.reader = Some(BufReader::new(f));
                self.no = 0;
            }
            let Some(reader) = self.reader.as_mut() else {
                return Ok(None);
            };
            let mut buf = Vec::new();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| io_err(path, &e))?;
            if n == 0 {
                self.reader = None;
                self.current += 1;
                continue;
            }
            self.no += 1;
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            return Ok(Some(Line {
                file: self.current,
                no: self.no,
                bytes: buf,
            }));
        }
    }

    fn next(&mut self) -> Result<Option<Line>, VerifyError> {
        match self.buffer.pop_front() {
            Some(l) => Ok(Some(l)),
            None => self.read_one(),
        }
    }

    /// The `k`-th line after the current one (0 = the next).
    fn peek(&mut self, k: usize) -> Result<Option<&Line>, VerifyError> {
        while self.buffer.len() <= k {
            match self.read_one()? {
                Some(l) => self.buffer.push_back(l),
                None => return Ok(None),
            }
        }
        Ok(self.buffer.get(k))
    }
}

fn io_err(path: &Path, e: &std::io::Error) -> VerifyError {
    VerifyError::Io {
        path: path.to_owned(),
        reason: e.kind().to_string(),
    }
}

/// What the verifier needs from a line.
struct Parsed {
    seq: u64,
    prev: String,
    hash: String,
    kind: String,
    checkpoint: Option<Checkpoint>,
}

struct Checkpoint {
    device: String,
    reason: String,
    time: String,
    signature: String,
}

fn parse(bytes: &[u8]) -> Option<Parsed> {
    let v: serde_json::Value = serde_json::from_slice(json_part(bytes)?).ok()?;
    let (seq, prev) = chain_of(&v)?;
    let kind = v.get("type")?.as_str()?.to_owned();
    let s = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let checkpoint = (kind == "checkpoint").then(|| Checkpoint {
        device: s("device"),
        reason: s("reason"),
        time: s("time"),
        signature: s("signature"),
    });
    Some(Parsed {
        seq,
        prev,
        hash: hex::encode(arca_crypto::sha256(bytes)),
        kind,
        checkpoint,
    })
}

/// How far ahead a missing sequence number is looked for before calling it deleted.
const LOOKAHEAD: usize = 1000;

/// Verifies the chain of `paths` (in order) and, with `pubkey` (PEM, base64 or hex of an
/// Ed25519 key), the signatures of its checkpoints.
pub fn verify_file(paths: &[PathBuf], pubkey: Option<&str>) -> Result<VerifyReport, VerifyError> {
    if paths.is_empty() {
        return Err(VerifyError::NoFiles);
    }
    let key = match pubkey {
        Some(k) => Some(crate::parse_public_key(k).ok_or(VerifyError::PublicKey)?),
        None => None,
    };
    let mut report = VerifyReport::default();
    let mut lines = Lines::new(paths);
    // The previous line: its position, sequence, hash and its own `prev`.
    let mut prev: Option<(usize, u64, u64, String, String)> = None;
    let problem = |file: usize, line: u64, kind: ProblemKind, detail: String| Problem {
        file: paths.get(file).cloned().unwrap_or_default(),
        line,
        kind,
        detail,
    };
    while let Some(line) = lines.next()? {
        report.lines += 1;
        let Some(p) = parse(&line.bytes) else {
            report.problem = Some(problem(
                line.file,
                line.no,
                ProblemKind::Malformed,
                "not a chained audit record (torn write, or edited)".to_owned(),
            ));
            return Ok(report);
        };
        if let Some((pfile, pno, pseq, phash, pprev)) = &prev {
            let expected = pseq + 1;
            let prev_ok = p.prev == *phash;
            let seq_ok = p.seq == expected;
            if !(prev_ok && seq_ok) {
                let found = if prev_ok {
                    problem(
                        line.file,
                        line.no,
                        ProblemKind::Modified,
                        format!(
                            "sequence number changed (seq {}, expected {expected})",
                            p.seq
                        ),
                    )
                } else if seq_ok {
                    let next = lines.peek(0)?.and_then(|n| parse(&n.bytes));
                    match next {
                        Some(n) if n.seq == expected && n.prev == *phash => problem(
                            line.file,
                            line.no,
                            ProblemKind::Inserted,
                            format!("seq {} does not belong to the chain", p.seq),
                        ),
                        Some(n) if n.prev != p.hash => problem(
                            line.file,
                            line.no,
                            ProblemKind::Modified,
                            format!("seq {} does not chain to its neighbours", p.seq),
                        ),
                        _ => problem(
                            *pfile,
                            *pno,
                            ProblemKind::Modified,
                            format!(
                                "seq {pseq}: its hash differs from what seq {} recorded",
                                p.seq
                            ),
                        ),
                    }
                } else if p.seq > expected {
                    let mut at = None;
                    for k in 0..LOOKAHEAD {
                        let Some(n) = lines.peek(k)? else { break };
                        if parse(&n.bytes).is_some_and(|n| n.seq == expected) {
                            at = Some((n.file, n.no));
                            break;
                        }
                    }
                    match at {
                        Some((f, n)) => problem(
                            line.file,
                            line.no,
                            ProblemKind::Reordered,
                            format!(
                                "seq {} where {expected} was expected; seq {expected} is at {}:{n}",
                                p.seq,
                                paths
                                    .get(f)
                                    .map(|p| p.display().to_string())
                                    .unwrap_or_default()
                            ),
                        ),
                        None => problem(
                            line.file,
                            line.no,
                            ProblemKind::Deleted,
                            format!(
                                "{} record(s) missing before this line (seq {expected} to {})",
                                p.seq - expected,
                                p.seq - 1
                            ),
                        ),
                    }
                } else if p.seq == *pseq && p.prev == *pprev {
                    // Same place in the chain as the previous line, which chained
                    // correctly: the previous line is the forgery.
                    problem(
                        *pfile,
                        *pno,
                        ProblemKind::Inserted,
                        format!("seq {pseq} was forged in front of the real seq {pseq}"),
                    )
                } else {
                    problem(
                        line.file,
                        line.no,
                        ProblemKind::Inserted,
                        format!("seq {} repeats or goes back (expected {expected})", p.seq),
                    )
                };
                report.problem = Some(found);
                return Ok(report);
            }
        } else {
            report.first_seq = Some(p.seq);
        }
        report.last_seq = Some(p.seq);
        match &p.checkpoint {
            Some(c) => {
                report.checkpoints += 1;
                let mut verified = false;
                if let Some(key) = &key {
                    use base64::Engine as _;
                    let msg = checkpoint_message(&c.device, p.seq, &p.prev, &c.time, &c.reason);
                    let sig = base64::engine::general_purpose::STANDARD
                        .decode(&c.signature)
                        .unwrap_or_default();
                    if !arca_crypto::ed25519::verify(key, &msg, &sig) {
                        report.problem = Some(problem(
                            line.file,
                            line.no,
                            ProblemKind::BadSignature,
                            format!("checkpoint seq {} does not verify with this key", p.seq),
                        ));
                        return Ok(report);
                    }
                    verified = true;
                    report.signatures_verified += 1;
                }
                report.last_checkpoint = Some(CheckpointAt {
                    file: paths.get(line.file).cloned().unwrap_or_default(),
                    line: line.no,
                    seq: p.seq,
                    time: c.time.clone(),
                    verified,
                });
                report.lines_after_checkpoint = 0;
            }
            None => {
                report.lines_after_checkpoint += 1;
                if p.kind == "request" || p.kind == "response" {
                    report.records += 1;
                }
            }
        }
        prev = Some((line.file, line.no, p.seq, p.hash, p.prev));
    }
    Ok(report)
}
