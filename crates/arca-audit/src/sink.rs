//! Where a device's lines go: a file (or stdout, or nowhere), a TCP/UDP/unix socket, or
//! the local syslog socket. All I/O here is blocking and runs on the device's own writer
//! thread, each write bounded by the device's timeout where the OS allows it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::chain::{ChainHead, json_part};

/// A line sink. `write_line` gets one line without its newline.
pub(crate) trait Sink: Send {
    /// Writes one line (the sink adds framing: a newline, or a syslog header).
    fn write_line(&mut self, line: &[u8]) -> io::Result<()>;
    /// Whether [`Self::write_lines`] writes a batch all at once (one `write(2)`), so the
    /// writer may hand it several lines: otherwise it gets them one by one, and a failure
    /// is known line by line.
    fn batches(&self) -> bool {
        false
    }
    /// Writes newline-terminated lines; only called with several lines when
    /// [`Self::batches`] is true.
    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.write_line(lines.strip_suffix(b"\n").unwrap_or(lines))
    }
    /// Makes what was written durable (fsync for files; no-op elsewhere).
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// [`Self::sync`] without waiting for it; `done` gets its result. Default: inline.
    fn sync_in_background(&mut self, done: SyncDone) {
        done(self.sync());
    }
    /// Reopens the destination (log rotation). Sockets reconnect.
    fn reopen(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Whether the destination was moved or removed under us (files only).
    fn moved(&self) -> bool {
        false
    }
    /// The chain head recorded at the end of the destination, when it can be read back
    /// (files only). `Ok(None)` when there is nothing to read.
    fn read_head(&mut self) -> io::Result<Option<ChainHead>> {
        Ok(None)
    }
}

/// What to do once a background sync finished.
pub(crate) type SyncDone = Box<dyn FnOnce(io::Result<()>) + Send>;

/// A thread that fdatasyncs (a clone of) the audit file on request, in order.
struct Syncer {
    tx: std::sync::mpsc::Sender<(File, SyncDone)>,
}

impl Syncer {
    fn start() -> io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<(File, SyncDone)>();
        std::thread::Builder::new()
            .name("audit-sync".into())
            // Ends when the sink (the sender) is dropped.
            .spawn(move || {
                crate::device::batch_scheduling();
                while let Ok((file, done)) = rx.recv() {
                    done(file.sync_data());
                }
            })?;
        Ok(Self { tx })
    }
}

/// Writes nowhere (`file_path = "discard"`).
pub(crate) struct Discard;

impl Sink for Discard {
    fn write_line(&mut self, _line: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn batches(&self) -> bool {
        true
    }

    fn write_lines(&mut self, _lines: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

/// Writes to the process's standard output (`file_path = "stdout"`).
pub(crate) struct Stdout;

impl Sink for Stdout {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        self.write_lines(&buf)
    }

    fn batches(&self) -> bool {
        true
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(lines)?;
        out.flush()
    }
}

/// Appends to a file.
pub(crate) struct FileSink {
    path: PathBuf,
    /// `None`: keep the mode of an existing file (`mode = "0000"`).
    mode: Option<u32>,
    file: Option<File>,
    syncer: Option<Syncer>,
}

impl FileSink {
    /// Opens (creating it, and missing parent directories with mode 0700) `path`.
    pub(crate) fn open(path: PathBuf, mode: Option<u32>) -> io::Result<Self> {
        let mut s = Self {
            path,
            mode,
            file: None,
            syncer: None,
        };
        s.open_file()?;
        Ok(s)
    }

    fn open_file(&mut self) -> io::Result<()> {
        if let Some(parent) = self.path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let mut opts = OpenOptions::new();
        opts.append(true).create(true);
        opts.mode(self.mode.unwrap_or(0o600));
        let file = opts.open(&self.path)?;
        // An existing file keeps its mode on open: set it, except on character devices
        // such as /dev/null.
        if let Some(mode) = self.mode
            && file.metadata()?.is_file()
        {
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        self.file = Some(file);
        Ok(())
    }

    fn file(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            self.open_file()?;
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("audit file is not open"))
    }
}

impl Sink for FileSink {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        self.write_lines(&buf)
    }

    fn batches(&self) -> bool {
        true
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        // One write(2) per batch of whole lines with O_APPEND, so concurrent appenders never
        // interleave inside a line. On failure the file is reopened once, as OpenBao does.
        let r = self.file()?.write_all(lines);
        if r.is_err() {
            self.file = None;
            self.open_file()?;
            return self.file()?.write_all(lines);
        }
        r
    }

    fn sync(&mut self) -> io::Result<()> {
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        if !f.metadata()?.is_file() {
            return Ok(());
        }
        // Behind the background syncs already queued, so that chain heads are reported in
        // order (a rotation's head must not be overtaken by an older one).
        if let Some(s) = &self.syncer {
            let (tx, rx) = std::sync::mpsc::channel();
            let done: SyncDone = Box::new(move |r| {
                let _ = tx.send(r);
            });
            if s.tx.send((f.try_clone()?, done)).is_ok() {
                return rx
                    .recv()
                    .unwrap_or_else(|_| Err(io::Error::other("audit sync thread stopped")));
            }
        }
        f.sync_data()
    }

    fn sync_in_background(&mut self, done: SyncDone) {
        let file = match self.file.as_ref() {
            Some(f) if f.metadata().is_ok_and(|m| m.is_file()) => f.try_clone(),
            _ => return done(Ok(())),
        };
        let file = match file {
            Ok(f) => f,
            Err(e) => return done(Err(e)),
        };
        if self.syncer.is_none() {
            match Syncer::start() {
                Ok(s) => self.syncer = Some(s),
                Err(_) => return done(file.sync_data()),
            }
        }
        if let Some(s) = &self.syncer
            && let Err(std::sync::mpsc::SendError((file, done))) = s.tx.send((file, done))
        {
            // The thread is gone: sync here.
            self.syncer = None;
            done(file.sync_data());
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        self.open_file()
    }

    fn moved(&self) -> bool {
        let Some(f) = &self.file else {
            return false;
        };
        let (Ok(open), path) = (f.metadata(), std::fs::metadata(&self.path)) else {
            return false;
        };
        if !open.is_file() {
            return false;
        }
        match path {
            Ok(p) => p.dev() != open.dev() || p.ino() != open.ino(),
            Err(_) => true,
        }
    }

    fn read_head(&mut self) -> io::Result<Option<ChainHead>> {
        let mut f = File::open(&self.path)?;
        if !f.metadata()?.is_file() {
            return Ok(None);
        }
        let Some((line, terminated)) = last_line(&mut f)? else {
            return Ok(None);
        };
        if !terminated {
            // A torn last line (crash in the middle of a write): end it, so the next line
            // starts on its own. The verifier reports it.
            self.file()?.write_all(b"\n")?;
        }
        let line = match line {
            LastLine::Complete(l) => l,
            LastLine::None => return Ok(None),
        };
        let seq = json_part(&line)
            .and_then(|j| serde_json::from_slice::<serde_json::Value>(j).ok())
            .and_then(|v| crate::chain::chain_of(&v))
            .map(|(seq, _)| seq)
            .unwrap_or(0);
        Ok(Some(ChainHead {
            seq,
            hash: arca_crypto::sha256(&line),
        }))
    }
}

enum LastLine {
    Complete(Vec<u8>),
    None,
}

/// The last newline-terminated line of `f` and whether the file ends with a newline.
fn last_line(f: &mut File) -> io::Result<Option<(LastLine, bool)>> {
    let len = f.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    // Read backwards in chunks until the start of the last complete line is found.
    const CHUNK: u64 = 64 * 1024;
    let mut tail: Vec<u8> = Vec::new();
    let mut pos = len;
    loop {
        let start = pos.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; usize::try_from(pos - start).unwrap_or(0)];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        pos = start;
        let terminated = tail.last() == Some(&b'\n');
        // The end of the last complete line.
        let Some(end) = tail.iter().rposition(|b| *b == b'\n') else {
            if pos == 0 {
                return Ok(Some((LastLine::None, terminated)));
            }
            continue;
        };
        let body = tail.get(..end).unwrap_or_default();
        match body.iter().rposition(|b| *b == b'\n') {
            Some(s) => {
                let line = body.get(s + 1..).unwrap_or_default().to_vec();
                return Ok(Some((LastLine::Complete(line), terminated)));
            }
            None if pos == 0 => {
                return Ok(Some((LastLine::Complete(body.to_vec()), terminated)));
            }
            None => continue,
        }
    }
}

/// The transport of a socket device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketType {
    Tcp,
    Udp,
    Unix,
}

enum Conn {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Unix(UnixStream),
}

/// Ships lines to a collector; reconnects once per write on failure.
pub(crate) struct SocketSink {
    address: String,
    kind: SocketType,
    timeout: Duration,
    conn: Option<Conn>,
}

impl SocketSink {
    /// Connects now, so that enabling fails when the collector is unreachable.
    pub(crate) fn connect(
        address: String,
        kind: SocketType,
        timeout: Duration,
    ) -> io::Result<Self> {
        let mut s = Self {
            address,
            kind,
            timeout,
            conn: None,
        };
        s.conn = Some(s.dial()?);
        Ok(s)
    }

    fn dial(&self) -> io::Result<Conn> {
        match self.kind {
            SocketType::Tcp => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "address did not resolve");
                for addr in self.address.to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, self.timeout) {
                        Ok(s) => {
                            s.set_write_timeout(Some(self.timeout))?;
                            s.set_nodelay(true)?;
                            return Ok(Conn::Tcp(s));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
            SocketType::Udp => {
                let addr = self
                    .address
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
                let local = if addr.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let s = UdpSocket::bind(local)?;
                s.connect(addr)?;
                s.set_write_timeout(Some(self.timeout))?;
                Ok(Conn::Udp(s))
            }
            SocketType::Unix => {
                let s = UnixStream::connect(&self.address)?;
                s.set_write_timeout(Some(self.timeout))?;
                Ok(Conn::Unix(s))
            }
        }
    }

    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.conn.is_none() {
            self.conn = Some(self.dial()?);
        }
        let r = match self.conn.as_mut() {
            Some(Conn::Tcp(s)) => s.write_all(buf),
            Some(Conn::Unix(s)) => s.write_all(buf),
            Some(Conn::Udp(s)) => s.send(buf).map(|_| ()),
            None => Err(io::Error::other("not connected")),
        };
        if r.is_err() {
            // A timed-out stream may hold half a line: never reuse it.
            self.conn = None;
        }
        r
    }
}

impl Sink for SocketSink {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        match self.send(&buf) {
            Ok(()) => Ok(()),
            Err(_) => self.send(&buf),
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.conn = None;
        self.conn = Some(self.dial()?);
        Ok(())
    }
}

/// Writes RFC 3164 messages to the local syslog daemon's datagram socket.
pub(crate) struct SyslogSink {
    socket_path: PathBuf,
    socket: UnixDatagram,
    priority: u8,
    tag: String,
    timeout: Duration,
}

/// Syslog facility codes by name (as go-syslog accepts them).
pub(crate) fn facility_code(name: &str) -> Option<u8> {
    let n = name.to_ascii_uppercase();
    let code = match n.as_str() {
        "KERN" => 0,
        "USER" => 1,
        "MAIL" => 2,
        "DAEMON" => 3,
        "AUTH" => 4,
        "SYSLOG" => 5,
        "LPR" => 6,
        "NEWS" => 7,
        "UUCP" => 8,
        "CRON" => 9,
        "AUTHPRIV" => 10,
        "FTP" => 11,
        "LOCAL0" => 16,
        "LOCAL1" => 17,
        "LOCAL2" => 18,
        "LOCAL3" => 19,
        "LOCAL4" => 20,
        "LOCAL5" => 21,
        "LOCAL6" => 22,
        "LOCAL7" => 23,
        _ => return None,
    };
    Some(code)
}

impl SyslogSink {
    /// Connects to `socket_path` (normally `/dev/log`).
    pub(crate) fn connect(
        socket_path: &Path,
        facility: u8,
        tag: String,
        timeout: Duration,
    ) -> io::Result<Self> {
        let socket = Self::dial(socket_path, timeout)?;
        Ok(Self {
            socket_path: socket_path.to_owned(),
            socket,
            // Severity informational (6).
            priority: facility * 8 + 6,
            tag,
            timeout,
        })
    }

    fn dial(path: &Path, timeout: Duration) -> io::Result<UnixDatagram> {
        let s = UnixDatagram::unbound()?;
        s.connect(path)?;
        s.set_write_timeout(Some(timeout))?;
        Ok(s)
    }

    fn message(&self, line: &[u8]) -> Vec<u8> {
        let now = time::OffsetDateTime::now_utc();
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = months
            .get(usize::from(u8::from(now.month())).saturating_sub(1))
            .copied()
            .unwrap_or("Jan");
        let header = format!(
            "<{}>{} {:>2} {:02}:{:02}:{:02} {}[{}]: ",
            self.priority,
            month,
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            self.tag,
            std::process::id()
        );
        let mut msg = header.into_bytes();
        msg.extend_from_slice(line);
        msg
    }
}

impl Sink for SyslogSink {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let msg = self.message(line);
        if self.socket.send(&msg).is_ok() {
            return Ok(());
        }
        // The daemon may have restarted and recreated its socket.
        self.socket = Self::dial(&self.socket_path, self.timeout)?;
        self.socket.send(&msg).map(|_| ())
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.socket = Self::dial(&self.socket_path, self.timeout)?;
        Ok(())
    }
}
