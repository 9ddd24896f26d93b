//! relaygen-tokio: a small TCP server on tokio (current-thread runtime: one worker, like a relay
//! whose executor is busy) whose `tracing` spans mirror rust-libp2p 0.53–0.56's, names, levels,
//! targets and fields as its source shows them:
//!
//! - `Swarm::poll` (debug, target `libp2p_swarm`, swarm/src/lib.rs `#[instrument]`): one span per call;
//! - `Pool::poll` (debug, target `libp2p_swarm::connection::pool`) inside it;
//! - `new_incoming_connection{remote_addr, id}` and `new_established_connection{remote_addr, id, peer}`
//!   (debug, target `libp2p_swarm::connection::pool`, `parent: None`), instrumenting the pending and
//!   the established connection's task;
//! - `Connection::poll` (debug, target `libp2p_swarm::connection`) inside the established span, and
//!   `ConnectionHandler::poll` (trace, target `libp2p_relay::behaviour::handler`) inside that;
//! - the debug events "Connection established" `{peer, endpoint, total_peers}` and
//!   "Connection closed: {connected:?}" `{total_peers}` (target `libp2p_swarm`).
//!
//! Clients speak lines: `hello PEER` (the "handshake": the pending connection becomes established
//! with that peer id), `echo TEXT`, and control commands that induce what pollscope must find:
//! `slow PEER MS` (that connection's next `Connection::poll` that handles data busies the worker
//! MS ms), `block MS` (the next `Swarm::poll` blocks MS ms), `hog MS` (another task blocks the only
//! worker MS ms: an executor block, no span open), `quit` (write the truth, exit; connections still
//! open stay unfinished in the log).
//!
//! Ground truth is measured in-process with `SystemTime` (µs, the clock the log lines carry) and
//! written to its own JSON file, never into the log: every connection, every `Connection::poll` of
//! 1 ms or more (`induced_ms` 0 when nobody asked for it), the blocked `Swarm::poll`, the executor block.
//!
//! `relaygen-tokio serve --log full|full-nospan|full-threads-ansi|compact|json --truth FILE --port-file FILE`
//! `relaygen-tokio client --port N --scenario stalls`

use std::collections::HashMap;
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::Instrument;

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_micros() as u64
}

// ---------------------------------------------------------------- ground truth

struct TruthEvent {
    kind: &'static str,
    conn: Option<usize>,
    peer: Option<String>,
    start_us: u64,
    end_us: u64,
    induced_ms: u64,
}

struct ConnTruth {
    id: usize,
    peer: String,
    remote_addr: String,
    established_us: u64,
    closed_us: Option<u64>,
}

#[derive(Default)]
struct Truth {
    events: Vec<TruthEvent>,
    conns: Vec<ConnTruth>,
    swarm_polls: u64,
    connection_polls: u64,
}

fn json_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Truth {
    fn to_json(&self, log_format: &str) -> String {
        let mut out = format!(
            "{{\n  \"log_format\": {},\n  \"clock\": \"SystemTime, microseconds since the Unix epoch\",\n  \"swarm_polls\": {},\n  \"connection_polls\": {},\n  \"connections\": [",
            json_str(log_format),
            self.swarm_polls,
            self.connection_polls
        );
        for (i, c) in self.conns.iter().enumerate() {
            out += &format!(
                "{}\n    {{ \"id\": {}, \"peer\": {}, \"remote_addr\": {}, \"established_us\": {}, \"closed_us\": {} }}",
                if i > 0 { "," } else { "" },
                c.id,
                json_str(&c.peer),
                json_str(&c.remote_addr),
                c.established_us,
                c.closed_us.map_or("null".to_string(), |v| v.to_string())
            );
        }
        out += "\n  ],\n  \"events\": [";
        for (i, e) in self.events.iter().enumerate() {
            out += &format!(
                "{}\n    {{ \"kind\": {}, \"conn\": {}, \"peer\": {}, \"start_us\": {}, \"end_us\": {}, \"duration_us\": {}, \"induced_ms\": {} }}",
                if i > 0 { "," } else { "" },
                json_str(e.kind),
                e.conn.map_or("null".to_string(), |v| v.to_string()),
                e.peer.as_deref().map_or("null".to_string(), json_str),
                e.start_us,
                e.end_us,
                e.end_us - e.start_us,
                e.induced_ms
            );
        }
        out + "\n  ]\n}\n"
    }
}

type SharedTruth = Arc<Mutex<Truth>>;

// ---------------------------------------------------------------- the pool's events

enum PoolEvent {
    Established { id: usize, peer: String, stream: TcpStream, local: String, remote: String },
    /// The established connection's task runs: the swarm reports it.
    Opened { peer: String, local: String, remote: String },
    Closed { id: usize, peer: String, local: String, remote: String },
    Block(u64),
    Quit,
}

/// `slow PEER MS` requests waiting for that connection's next poll.
type SlowRequests = Arc<Mutex<HashMap<String, u64>>>;

fn multiaddr(a: std::net::SocketAddr) -> String {
    format!("/ip4/{}/tcp/{}", a.ip(), a.port())
}

fn endpoint(local: &str, remote: &str) -> String {
    format!("Listener {{ local_addr: {}, send_back_addr: {} }}", local, remote)
}

// ---------------------------------------------------------------- the established connection

struct Connection {
    id: usize,
    peer: String,
    stream: TcpStream,
    pending: Vec<u8>,
    pool: mpsc::UnboundedSender<PoolEvent>,
    slow: SlowRequests,
    truth: SharedTruth,
    local: String,
    remote: String,
}

impl Connection {
    /// One line from the client; returns the reply.
    fn command(&mut self, line: &str) -> Option<String> {
        let mut parts = line.split_whitespace();
        let verb = parts.next().unwrap_or("");
        tracing::debug!(target: "relaygen", command = verb, "handling command");
        match verb {
            "echo" => Some(format!("{}\n", line)),
            "slow" => {
                let peer = parts.next().unwrap_or("").to_string();
                let ms: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                self.slow.lock().unwrap().insert(peer, ms);
                Some("ok\n".into())
            }
            "block" => {
                let ms: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let _ = self.pool.send(PoolEvent::Block(ms));
                Some("ok\n".into())
            }
            "hog" => {
                let ms: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let truth = self.truth.clone();
                // Another task on the only worker: it blocks the thread once it runs, with no span open.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let start = now_us();
                    std::thread::sleep(Duration::from_millis(ms));
                    let end = now_us();
                    truth.lock().unwrap().events.push(TruthEvent {
                        kind: "executor_block",
                        conn: None,
                        peer: None,
                        start_us: start,
                        end_us: end,
                        induced_ms: ms,
                    });
                });
                Some("ok\n".into())
            }
            "quit" => {
                let _ = self.pool.send(PoolEvent::Quit);
                None
            }
            _ => Some("?\n".into()),
        }
    }

    /// Reads what is there, handles complete lines; Ready(true) when the peer closed.
    fn poll_io(&mut self, cx: &mut Context<'_>) -> (bool, bool) {
        let mut handled = false;
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.poll_read_ready(cx) {
                Poll::Pending => return (false, handled),
                Poll::Ready(Err(_)) => return (true, handled),
                Poll::Ready(Ok(())) => {}
            }
            match self.stream.try_read(&mut buf) {
                Ok(0) => return (true, handled),
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = self.pending.drain(..=nl).collect();
                        let text = String::from_utf8_lossy(&line[..line.len() - 1]).to_string();
                        handled = true;
                        if let Some(reply) = self.command(&text) {
                            let _ = self.stream.try_write(reply.as_bytes());
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return (true, handled),
            }
        }
    }
}

impl Future for Connection {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let start = now_us();
        let span = tracing::debug_span!(target: "libp2p_swarm::connection", "Connection::poll");
        let entered = span.enter();
        let handler = tracing::trace_span!(target: "libp2p_relay::behaviour::handler", "ConnectionHandler::poll");
        let in_handler = handler.enter();
        let (closed, handled) = self.poll_io(cx);
        let mut induced = 0;
        if handled {
            let requested = self.slow.lock().unwrap().remove(&self.peer);
            if let Some(ms) = requested {
                // A slow handler: the worker is busy inside this connection's poll.
                std::thread::sleep(Duration::from_millis(ms));
                induced = ms;
            }
        }
        drop(in_handler);
        drop(handler);
        drop(entered);
        drop(span);
        let end = now_us();
        let mut truth = self.truth.lock().unwrap();
        truth.connection_polls += 1;
        // Every poll of 1 ms or more is in the truth (induced or not), so that none found is unexplained.
        if induced > 0 || end - start >= 1_000 {
            truth.events.push(TruthEvent {
                kind: "slow_connection_poll",
                conn: Some(self.id),
                peer: Some(self.peer.clone()),
                start_us: start,
                end_us: end,
                induced_ms: induced,
            });
        }
        drop(truth);
        if closed {
            let _ = self.pool.send(PoolEvent::Closed {
                id: self.id,
                peer: self.peer.clone(),
                local: self.local.clone(),
                remote: self.remote.clone(),
            });
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

// ---------------------------------------------------------------- the swarm

struct Swarm {
    listener: TcpListener,
    events: mpsc::UnboundedReceiver<PoolEvent>,
    pool_tx: mpsc::UnboundedSender<PoolEvent>,
    next_id: usize,
    established: usize,
    slow: SlowRequests,
    truth: SharedTruth,
}

enum SwarmEvent {
    Quit,
}

impl Swarm {
    fn accept(&mut self, stream: TcpStream, remote: std::net::SocketAddr) {
        let id = self.next_id;
        self.next_id += 1;
        let local = multiaddr(stream.local_addr().expect("local addr"));
        let remote = multiaddr(remote);
        let span = tracing::debug_span!(target: "libp2p_swarm::connection::pool", parent: None, "new_incoming_connection", remote_addr = %remote, id = %id);
        let tx = self.pool_tx.clone();
        // The pending connection: its "upgrade" is the client's `hello PEER` line.
        tokio::spawn(
            async move {
                let stream = stream;
                let mut line = Vec::new();
                let mut byte = [0u8; 1];
                loop {
                    stream.readable().await.ok();
                    match stream.try_read(&mut byte) {
                        Ok(0) => return,
                        Ok(_) if byte[0] == b'\n' => break,
                        Ok(_) => line.push(byte[0]),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(_) => return,
                    }
                }
                let text = String::from_utf8_lossy(&line).to_string();
                let peer = text.strip_prefix("hello ").unwrap_or("").to_string();
                let _ = tx.send(PoolEvent::Established { id, peer, stream, local, remote });
            }
            .instrument(span),
        );
    }

    /// Pool::poll: events from the connections' tasks; spawns established connections.
    fn poll_pool(&mut self, cx: &mut Context<'_>) -> Vec<PoolEvent> {
        let span = tracing::debug_span!(target: "libp2p_swarm::connection::pool", "Pool::poll");
        let _entered = span.enter();
        let mut out = Vec::new();
        while let Poll::Ready(Some(ev)) = self.events.poll_recv(cx) {
            if let PoolEvent::Established { id, peer, stream, local, remote } = ev {
                let span = tracing::debug_span!(target: "libp2p_swarm::connection::pool", parent: None, "new_established_connection", remote_addr = %remote, %id, peer = %peer);
                self.truth.lock().unwrap().conns.push(ConnTruth {
                    id,
                    peer: peer.clone(),
                    remote_addr: remote.clone(),
                    established_us: now_us(),
                    closed_us: None,
                });
                let conn = Connection {
                    id,
                    peer: peer.clone(),
                    stream,
                    pending: Vec::new(),
                    pool: self.pool_tx.clone(),
                    slow: self.slow.clone(),
                    truth: self.truth.clone(),
                    local: local.clone(),
                    remote: remote.clone(),
                };
                tokio::spawn(conn.instrument(span));
                self.established += 1;
                out.push(PoolEvent::Opened { peer, local, remote });
            } else {
                out.push(ev);
            }
        }
        out
    }

    /// Swarm::poll: one span per call, as `#[tracing::instrument(level = "debug", name = "Swarm::poll")]` makes.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<SwarmEvent> {
        let start = now_us();
        let span = tracing::debug_span!(target: "libp2p_swarm", "Swarm::poll");
        let entered = span.enter();
        let mut result = Poll::Pending;
        let mut blocked = 0;
        for ev in self.poll_pool(cx) {
            match ev {
                PoolEvent::Opened { peer, local, remote } => {
                    tracing::debug!(target: "libp2p_swarm", peer = %peer, endpoint = ?format_args!("{}", endpoint(&local, &remote)), total_peers = %self.established, "Connection established");
                }
                PoolEvent::Closed { id, peer, local, remote } => {
                    self.established -= 1;
                    let mut truth = self.truth.lock().unwrap();
                    if let Some(c) = truth.conns.iter_mut().find(|c| c.id == id) {
                        c.closed_us = Some(now_us());
                    }
                    drop(truth);
                    tracing::debug!(target: "libp2p_swarm", total_peers = %self.established, "Connection closed: Connected {{ endpoint: {}, peer_id: PeerId({:?}) }}", endpoint(&local, &remote), peer);
                }
                PoolEvent::Block(ms) => {
                    std::thread::sleep(Duration::from_millis(ms));
                    blocked = ms;
                }
                PoolEvent::Quit => result = Poll::Ready(SwarmEvent::Quit),
                PoolEvent::Established { .. } => unreachable!("handled by the pool"),
            }
        }
        while let Poll::Ready(Ok((stream, remote))) = self.listener.poll_accept(cx) {
            self.accept(stream, remote);
        }
        drop(entered);
        drop(span);
        let end = now_us();
        let mut truth = self.truth.lock().unwrap();
        truth.swarm_polls += 1;
        if blocked > 0 {
            truth.events.push(TruthEvent {
                kind: "blocked_swarm_poll",
                conn: None,
                peer: None,
                start_us: start,
                end_us: end,
                induced_ms: blocked,
            });
        }
        result
    }
}

// ---------------------------------------------------------------- serve

fn init_logging(format: &str) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::prelude::*;
    let filter = Targets::new()
        .with_target("libp2p_swarm", tracing::Level::TRACE)
        .with_target("libp2p_relay", tracing::Level::TRACE)
        .with_target("relaygen", tracing::Level::DEBUG);
    let base = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false);
    match format {
        // Every span event, thread ids and names, ANSI colours: the busiest Full layout.
        "full-threads-ansi" => tracing_subscriber::registry()
            .with(
                base.with_ansi(true)
                    .with_thread_ids(true)
                    .with_thread_names(true)
                    .with_span_events(FmtSpan::FULL)
                    .with_filter(filter),
            )
            .init(),
        "full" => tracing_subscriber::registry().with(base.with_span_events(FmtSpan::CLOSE).with_filter(filter)).init(),
        "full-nospan" => tracing_subscriber::registry().with(base.with_filter(filter)).init(),
        "compact" => tracing_subscriber::registry()
            .with(base.compact().with_span_events(FmtSpan::CLOSE).with_filter(filter))
            .init(),
        "json" => tracing_subscriber::registry()
            .with(base.json().with_span_events(FmtSpan::CLOSE).with_filter(filter))
            .init(),
        other => panic!("unknown log format {}", other),
    }
}

fn serve(log_format: &str, truth_path: &str, port_path: &str) {
    init_logging(log_format);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let truth: SharedTruth = Arc::new(Mutex::new(Truth::default()));
    let t = truth.clone();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        std::fs::write(port_path, listener.local_addr().unwrap().port().to_string()).expect("port file");
        let (tx, rx) = mpsc::unbounded_channel();
        let mut swarm = Swarm {
            listener,
            events: rx,
            pool_tx: tx,
            next_id: 1,
            established: 0,
            slow: Arc::new(Mutex::new(HashMap::new())),
            truth: t,
        };
        loop {
            match std::future::poll_fn(|cx| swarm.poll(cx)).await {
                SwarmEvent::Quit => break,
            }
        }
    });
    let json = truth.lock().unwrap().to_json(log_format);
    std::fs::write(truth_path, json).expect("truth file");
    std::process::exit(0);
}

// ---------------------------------------------------------------- client

struct Client {
    w: std::net::TcpStream,
    r: BufReader<std::net::TcpStream>,
}

impl Client {
    fn connect(port: u16, peer: &str) -> Client {
        let w = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        w.set_nodelay(true).ok();
        let r = BufReader::new(w.try_clone().unwrap());
        let mut c = Client { w, r };
        c.send(&format!("hello {}", peer));
        c
    }
    fn send(&mut self, line: &str) {
        self.w.write_all(format!("{}\n", line).as_bytes()).expect("send");
    }
    fn call(&mut self, line: &str) -> String {
        self.send(line);
        let mut s = String::new();
        self.r.read_line(&mut s).expect("reply");
        s
    }
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// A deterministic PRNG (xorshift): reproducible scenarios and peer ids without a crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A libp2p-looking peer id (`12D3KooW` + base58), deterministic per index.
fn peer_id(i: u64) -> String {
    const B58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut rng = Rng(0x9E3779B97F4A7C15 ^ (i + 1).wrapping_mul(0x2545F4914F6CDD1D));
    let tail: String = (0..44).map(|_| B58[rng.next(58) as usize] as char).collect();
    format!("12D3KooW{}", tail)
}

/// Echo traffic on one connection until `stop`: a command every 5–30 ms, replies read.
fn traffic(port: u16, peer: String, seed: u64, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut c = Client::connect(port, &peer);
        let mut rng = Rng(seed);
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            c.call(&format!("echo {} {}", peer.get(..12).unwrap_or(""), i));
            i += 1;
            sleep_ms(5 + rng.next(25));
        }
    })
}

fn client(port: u16, scenario: &str) {
    assert_eq!(scenario, "stalls", "unknown scenario {}", scenario);
    let mut ctl = Client::connect(port, &peer_id(0));
    sleep_ms(100);
    let stop = Arc::new(AtomicBool::new(false));
    let peers: Vec<String> = (1..=4).map(peer_id).collect();
    let mut threads: Vec<_> = peers.iter().enumerate().map(|(i, p)| traffic(port, p.clone(), 7 + i as u64, stop.clone())).collect();
    sleep_ms(400);
    // Slow connection polls on chosen connections (5–20 ms busy each), apart from each other.
    for (peer, ms) in [(1usize, 5u64), (2, 12), (1, 20), (3, 8), (2, 15), (4, 10)] {
        ctl.call(&format!("slow {} {}", peers[peer - 1], ms));
        sleep_ms(300);
    }
    // A blocked Swarm::poll (1.5 s) while the clients keep sending.
    ctl.call("block 1500");
    sleep_ms(2500);
    // An executor block: another task takes the only worker for 1.2 s while the clients keep sending.
    ctl.call("hog 1200");
    sleep_ms(2500);
    // Connections come and go: two short-lived ones, one closed traffic connection.
    for i in 10..12 {
        let mut c = Client::connect(port, &peer_id(i));
        c.call("echo short-lived");
        sleep_ms(150);
    }
    sleep_ms(300);
    stop.store(true, Ordering::Relaxed);
    for t in threads.drain(..) {
        t.join().unwrap();
    }
    sleep_ms(300);
    // One connection stays open at the end: unfinished in the log.
    let mut last = Client::connect(port, &peer_id(20));
    last.call("echo still open");
    sleep_ms(200);
    ctl.send("quit");
    sleep_ms(500);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| -> String {
        let i = args.iter().position(|a| a == name).unwrap_or_else(|| panic!("missing {}", name));
        args[i + 1].clone()
    };
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(&opt("--log"), &opt("--truth"), &opt("--port-file")),
        Some("client") => client(opt("--port").parse().expect("port"), &opt("--scenario")),
        _ => {
            eprintln!("usage: relaygen-tokio serve --log full|full-nospan|full-threads-ansi|compact|json --truth FILE --port-file FILE\n       relaygen-tokio client --port N --scenario stalls");
            std::process::exit(2);
        }
    }
}
