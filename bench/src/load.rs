//! Closed-loop load: N clients, each on its own keep-alive connection, each sending the next request as
//! soon as the previous response has been read in full. Latency is per request, send to last body byte.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use tokio::sync::watch;

use crate::client::{Conn, Req};

#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Requests answered 2xx within the timed window.
    pub ok: u64,
    /// Transport failures plus non-2xx answers within the timed window.
    pub errors: u64,
    /// From the start of the timed window to the last response of any client.
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Requests completed including warm-up, to divide the server's CPU time by.
    pub total_requests: u64,
    /// Server CPU time (user + system) over warm-up and timed window; filled in by the caller.
    pub server_cpu: Option<Duration>,
    /// Cores the load generator kept busy over warm-up and timed window; filled in by the caller.
    /// Near its thread count, the generator rather than the server limited req/s.
    pub client_cores: Option<f64>,
}

impl RunResult {
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// Server CPU time per request, averaged over warm-up and timed window.
    pub fn cpu_per_request(&self) -> Option<Duration> {
        let n = u32::try_from(self.total_requests).ok().filter(|&n| n > 0)?;
        Some(self.server_cpu? / n)
    }
}

struct ClientStats {
    latencies_ns: Vec<u64>,
    errors: u64,
    last_done: Instant,
    total: u64,
}

/// Runs `clients` connections against `addr`: `warmup` unrecorded, then `duration` recorded.
/// Client `i` sends `req.for_client(i)`.
pub async fn run(
    addr: SocketAddr,
    req: &Req,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<RunResult> {
    if clients == 0 {
        return Err(anyhow!("at least one client is needed"));
    }
    // Every client connects first; the clock starts once all are connected.
    let (start_tx, start_rx) = watch::channel(None::<(Instant, Instant)>);
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let req = req.for_client(i);
        let mut start_rx = start_rx.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut conn = Some(Conn::connect(addr).await?);
            let _ = ready_tx.send(());
            let (measure_from, end) = start_rx
                .wait_for(Option::is_some)
                .await
                .map_err(|_| anyhow!("start signal lost"))?
                .ok_or_else(|| anyhow!("start signal empty"))?;
            client_loop(addr, &mut conn, &req, measure_from, end).await
        });
        tasks.push((task, ready_rx));
    }
    let mut handles = Vec::with_capacity(clients);
    for (task, ready_rx) in tasks {
        if ready_rx.await.is_err() {
            // The task ended before connecting; its error says why.
            let err = match task.await {
                Ok(Err(e)) => e,
                Ok(Ok(_)) => anyhow!("client ended early"),
                Err(e) => anyhow!("client task failed: {e}"),
            };
            return Err(err.context("client could not connect"));
        }
        handles.push(task);
    }
    let measure_from = Instant::now() + warmup;
    let end = measure_from + duration;
    start_tx
        .send(Some((measure_from, end)))
        .map_err(|_| anyhow!("no client left to start"))?;

    let mut all = Vec::new();
    let mut errors = 0;
    let mut last = measure_from;
    let mut total_requests = 0;
    for h in handles {
        let stats = h.await.context("client task")??;
        all.extend_from_slice(&stats.latencies_ns);
        errors += stats.errors;
        total_requests += stats.total;
        last = last.max(stats.last_done);
    }
    all.sort_unstable();
    Ok(RunResult {
        ok: all.len() as u64,
        errors,
        elapsed: last.saturating_duration_since(measure_from),
        p50: Duration::from_nanos(percentile(&all, 0.50)),
        p99: Duration::from_nanos(percentile(&all, 0.99)),
        max: Duration::from_nanos(all.last().copied().unwrap_or(0)),
        total_requests,
        server_cpu: None,
        client_cores: None,
    })
}

async fn client_loop(
    addr: SocketAddr,
    conn: &mut Option<Conn>,
    req: &Req,
    measure_from: Instant,
    end: Instant,
) -> Result<ClientStats> {
    let mut stats = ClientStats {
        latencies_ns: Vec::with_capacity(1 << 16),
        errors: 0,
        last_done: measure_from,
        total: 0,
    };
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let outcome = match conn {
            Some(c) => c.send(req).await.map(|(status, _)| status),
            None => Err(anyhow!("not connected")),
        };
        let done = Instant::now();
        stats.total += 1;
        let recorded = sent >= measure_from;
        match outcome {
            Ok(status) if status.is_success() => {
                if recorded {
                    let ns = u64::try_from((done - sent).as_nanos()).unwrap_or(u64::MAX);
                    stats.latencies_ns.push(ns);
                }
            }
            Ok(_) => {
                if recorded {
                    stats.errors += 1;
                }
            }
            Err(_) => {
                if recorded {
                    stats.errors += 1;
                }
                // The connection is gone; reconnect, and back off briefly so a dead server is not a spin loop.
                *conn = Conn::connect(addr).await.ok();
                if conn.is_none() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        if recorded {
            stats.last_done = done;
        }
    }
    Ok(stats)
}

/// Sends `total` requests over `clients` connections, request `i` being `make(i)`, as fast as the
/// server answers. Returns the wall time. Any failed request fails the whole run: this fills a
/// server with data that later measurements rely on.
pub async fn run_count(
    addr: SocketAddr,
    clients: usize,
    total: u64,
    make: std::sync::Arc<dyn Fn(u64) -> Req + Send + Sync>,
) -> Result<Duration> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let next = std::sync::Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(clients);
    for _ in 0..clients.max(1) {
        let next = next.clone();
        let make = make.clone();
        handles.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let req = make(i);
                let (status, body) = conn.send(&req).await?;
                if !status.is_success() {
                    return Err(anyhow!(
                        "{} {} answered {status}: {}",
                        req.method,
                        req.path,
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    ));
                }
            }
        }));
    }
    for h in handles {
        h.await.context("writer task")??;
    }
    Ok(started.elapsed())
}

/// Nearest-rank percentile of sorted values; 0 for an empty slice.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    /// A keep-alive HTTP/1.1 server that answers every request with `status`, counting connections.
    async fn fixed_server(status: u16) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (conn_tx, conn_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let _ = conn_tx.send(());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        let n = match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&chunk[..n]);
                        // GET requests carry no body, so each header block end is one request.
                        while let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            buf.drain(..i + 4);
                            let resp = format!(
                                "HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{{}}"
                            );
                            if sock.write_all(resp.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, conn_rx)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_client_keeps_one_connection_and_all_requests_succeed() {
        let (addr, mut conns) = fixed_server(200).await;
        let r = run(
            addr,
            &Req::get("/v1/sys/health"),
            4,
            Duration::from_millis(50),
            Duration::from_millis(200),
        )
        .await
        .unwrap();
        assert!(r.ok > 100, "{r:?}");
        assert_eq!(r.errors, 0);
        assert!(r.p50 <= r.p99 && r.p99 <= r.max);
        assert!(r.elapsed >= Duration::from_millis(200));
        let mut n = 0;
        while conns.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, 4, "one persistent connection per client");
    }

    #[tokio::test]
    async fn non_2xx_answers_are_errors() {
        let (addr, _conns) = fixed_server(503).await;
        let r = run(
            addr,
            &Req::get("/v1/sys/health"),
            1,
            Duration::ZERO,
            Duration::from_millis(50),
        )
        .await
        .unwrap();
        assert_eq!(r.ok, 0);
        assert!(r.errors > 0);
    }

    #[tokio::test]
    async fn run_count_sends_exactly_total_requests() {
        let (addr, _conns) = fixed_server(200).await;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let make = std::sync::Arc::new(move |i: u64| {
            if let Ok(mut v) = s2.lock() {
                v.push(i);
            }
            Req::get(format!("/v1/k{i}"))
        });
        run_count(addr, 3, 50, make).await.unwrap();
        let mut v = seen.lock().unwrap().clone();
        v.sort_unstable();
        assert_eq!(v, (0..50).collect::<Vec<u64>>());
        let (bad, _c) = fixed_server(500).await;
        let make = std::sync::Arc::new(|_| Req::get("/"));
        assert!(run_count(bad, 2, 5, make).await.is_err());
    }

    #[tokio::test]
    async fn unreachable_server_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let r = run(
            addr,
            &Req::get("/"),
            2,
            Duration::ZERO,
            Duration::from_millis(10),
        )
        .await;
        assert!(r.is_err());
    }
}
