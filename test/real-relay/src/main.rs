//! relaygen: a small async-std TCP server built on the real async-io 1.x / polling 2.x reactor.
//! Its main loop is a `Stream` whose `poll_next` logs the instrumented libp2p swarm lines
//! (`Swarm<TBehavior>::Stream::poll_next:+` / `:- result.is_ready(): …`, target `libp2p_swarm`),
//! so its trace log looks like the relay's, and it induces stalls on command:
//!
//! - `block MS`  blocks the executor thread inside `poll_next` (a blocked poll),
//! - `starve MS` blocks it in another task on the same executor thread while the swarm task
//!   is idle: readiness that arrives meanwhile waits for the swarm (starvation).
//!
//! Ground truth is measured by the program itself with `SystemTime` (µs, the log's clock) and
//! written to a separate JSON file, never into the log: every poll ≥ 50 ms (start/end of the
//! poll as the stream saw them), and every interval from the first wake of the swarm task's
//! waker (after a poll ended) to the next poll start ≥ 50 ms.
//!
//! `relaygen serve --log FORMAT --truth FILE --port-file FILE` runs the server;
//! `relaygen client --port N --scenario NAME` drives it (blocking std sockets, real TCP).

use std::cell::RefCell;
use std::io::{Read, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_std::net::{Incoming, TcpListener, TcpStream};
use futures::channel::mpsc;
use futures::io::{AsyncRead, AsyncWrite};
use futures::task::ArcWake;
use futures::{Stream, StreamExt};

/// Polls at least this long are written to the truth file (pollscope's default `--slow-poll`).
const SLOW_POLL_US: u64 = 50_000;
/// pollscope's default `--blocked-poll` and `--starved`.
const STALL_US: u64 = 1_000_000;

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_micros() as u64
}

// ---------------------------------------------------------------- ground truth

#[derive(Clone, Copy, PartialEq)]
enum Induced {
    No,
    Block(u64),
    Starve(u64),
}

struct Interval {
    /// slow_poll / blocked_poll / starved at pollscope's default thresholds, or
    /// `below_threshold` for a wake → poll delay shorter than the starvation threshold.
    kind: &'static str,
    what: &'static str, // "poll" (a poll_next call) or "wake_to_poll" (waker woken → next poll start)
    start_us: u64,
    end_us: u64,
    induced: Induced,
    /// For starvation: when the other task began and ended blocking the thread.
    block: Option<(u64, u64)>,
}

#[derive(Default)]
struct Truth {
    intervals: Vec<Interval>,
    polls: u64,
    polls_ready: u64,
    commands: u64,
    connections: u64,
    /// The worker's last block (start, end, requested ms), until the swarm's next poll claims it.
    last_block: Option<(u64, u64, u64)>,
}

/// A socket pair whose reading end the swarm polls: during an induced starvation a thread rings
/// it 20 ms after the worker began blocking, so readiness for the swarm arrives at a known time.
struct Doorbell {
    rx: async_io::Async<std::os::unix::net::UnixStream>,
    tx: Arc<Mutex<std::os::unix::net::UnixStream>>,
    rang_at_us: Arc<AtomicU64>,
}

/// Delay between the worker's block start and the doorbell.
const DOORBELL_DELAY_MS: u64 = 20;

impl Truth {
    fn to_json(&self, log_format: &str) -> String {
        let mut s = String::new();
        s.push_str("{\n");
        s.push_str("  \"generator\": \"relaygen 0.1.0 (test/real-relay)\",\n");
        s.push_str("  \"crates\": { \"polling\": \"2.2.0\", \"async-io\": \"1.11.0\", \"async-std\": \"1.12.0\", \"async-global-executor\": \"2.3.1\", \"env_logger\": \"0.9.3\", \"tracing-subscriber\": \"0.3.16\", \"tracing-log\": \"0.1.3\", \"log\": \"0.4.17\" },\n");
        s.push_str(&format!("  \"log_format\": \"{}\",\n", log_format));
        s.push_str("  \"clock\": \"SystemTime since the Unix epoch, microseconds (the clock env_logger and tracing-subscriber stamp lines with)\",\n");
        s.push_str(&format!("  \"thresholds_us\": {{ \"slow_poll\": {}, \"blocked_poll\": {}, \"starved\": {} }},\n", SLOW_POLL_US, STALL_US, STALL_US));
        s.push_str(&format!("  \"polls\": {},\n  \"polls_ready\": {},\n  \"commands\": {},\n  \"connections\": {},\n",
            self.polls, self.polls_ready, self.commands, self.connections));
        s.push_str("  \"intervals\": [");
        for (i, iv) in self.intervals.iter().enumerate() {
            let (induced, req) = match iv.induced {
                Induced::No => ("null", 0),
                Induced::Block(ms) => ("\"blocked_poll\"", ms),
                Induced::Starve(ms) => ("\"starvation\"", ms),
            };
            s.push_str(if i == 0 { "\n" } else { ",\n" });
            s.push_str(&format!(
                "    {{ \"kind\": \"{}\", \"what\": \"{}\", \"induced\": {}, \"requested_ms\": {}, \"start_us\": {}, \"end_us\": {}, \"duration_us\": {}",
                iv.kind, iv.what, induced, req, iv.start_us, iv.end_us, iv.end_us - iv.start_us));
            if let Some((bs, be)) = iv.block {
                s.push_str(&format!(", \"block_start_us\": {}, \"block_end_us\": {}", bs, be));
            }
            s.push_str(" }");
        }
        s.push_str("\n  ]\n}\n");
        s
    }
}

/// The swarm task's waker, wrapped: remembers when it was woken since its last poll ended
/// (the moments async-io's reactor handed readiness to the task). Several times are kept: a
/// reactor thread preempted between `react: N ready wakers` and the wakes may deliver a stale
/// wake after the poll that consumed that readiness; the truth uses the first wake at or after
/// the doorbell rang.
struct WakeRecorder {
    inner: Mutex<Option<Waker>>,
    wakes_us: Mutex<Vec<u64>>,
}

impl ArcWake for WakeRecorder {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let t = now_us();
        {
            let mut w = arc_self.wakes_us.lock().unwrap();
            if w.len() < 64 {
                w.push(t);
            }
        }
        if let Some(w) = arc_self.inner.lock().unwrap().as_ref() {
            w.wake_by_ref();
        }
    }
}

// ---------------------------------------------------------------- the swarm

struct Conn {
    id: u64,
    stream: TcpStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    woff: usize,
    upload_left: u64,
    upload_sum: u64,
    closed: bool,
}

#[derive(Debug)]
enum SwarmEvent {
    Accepted,
    Command(u64, String),
    UploadDone(u64, u64),
    Closed(u64),
}

struct Swarm {
    incoming: Incoming<'static>,
    conns: Vec<Conn>,
    next_id: u64,
    events: std::collections::VecDeque<SwarmEvent>,
    worker: mpsc::UnboundedSender<u64>,
    recorder: Arc<WakeRecorder>,
    waker: Waker,
    doorbell: Doorbell,
    truth: Rc<RefCell<Truth>>,
    /// Set by a `block` command while this poll runs.
    induced: Induced,
    quit: bool,
}

impl Swarm {
    fn new(listener: &'static TcpListener, worker: mpsc::UnboundedSender<u64>, truth: Rc<RefCell<Truth>>) -> Swarm {
        let recorder = Arc::new(WakeRecorder { inner: Mutex::new(None), wakes_us: Mutex::new(Vec::new()) });
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let doorbell = Doorbell {
            rx: async_io::Async::new(a).expect("doorbell"),
            tx: Arc::new(Mutex::new(b)),
            rang_at_us: Arc::new(AtomicU64::new(0)),
        };
        Swarm {
            incoming: listener.incoming(),
            conns: Vec::new(),
            next_id: 1,
            events: Default::default(),
            worker,
            waker: futures::task::waker(recorder.clone()),
            recorder,
            doorbell,
            truth,
            induced: Induced::No,
            quit: false,
        }
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<Option<SwarmEvent>> {
        if self.quit {
            return Poll::Ready(None);
        }
        if let Some(ev) = self.events.pop_front() {
            return Poll::Ready(Some(ev));
        }
        // New connections first, like a swarm's listeners.
        while let Poll::Ready(Some(res)) = self.incoming.poll_next_unpin(cx) {
            if let Ok(stream) = res {
                let id = self.next_id;
                self.next_id += 1;
                self.conns.push(Conn { id, stream, rbuf: Vec::new(), wbuf: Vec::new(), woff: 0, upload_left: 0, upload_sum: 0, closed: false });
                self.events.push_back(SwarmEvent::Accepted);
            }
        }
        let mut buf = vec![0u8; 64 * 1024];
        // Drain the doorbell.
        while let Poll::Ready(Ok(n)) = Pin::new(&mut self.doorbell.rx).poll_read(cx, &mut buf) {
            if n == 0 {
                break;
            }
        }
        for i in 0..self.conns.len() {
            self.flush(i, cx);
            // Read until the socket would block.
            loop {
                let c = &mut self.conns[i];
                if c.closed {
                    break;
                }
                match Pin::new(&mut c.stream).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        c.closed = true;
                        self.events.push_back(SwarmEvent::Closed(c.id));
                    }
                    Poll::Ready(Ok(n)) => self.consume(i, &buf[..n]),
                    Poll::Pending => break,
                }
            }
            self.flush(i, cx);
        }
        self.conns.retain(|c| !c.closed);
        match self.events.pop_front() {
            Some(ev) => Poll::Ready(Some(ev)),
            None => Poll::Pending,
        }
    }

    /// Bytes read from a connection: upload payload, or command lines.
    fn consume(&mut self, i: usize, mut data: &[u8]) {
        while !data.is_empty() {
            let c = &mut self.conns[i];
            if c.upload_left > 0 {
                let n = (c.upload_left as usize).min(data.len());
                c.upload_sum = checksum(c.upload_sum, &data[..n]);
                c.upload_left -= n as u64;
                data = &data[n..];
                if c.upload_left == 0 {
                    let sum = c.upload_sum;
                    c.wbuf.extend_from_slice(format!("sum {}\n", sum).as_bytes());
                    self.events.push_back(SwarmEvent::UploadDone(c.id, sum));
                }
                continue;
            }
            match data.iter().position(|&b| b == b'\n') {
                None => {
                    c.rbuf.extend_from_slice(data);
                    return;
                }
                Some(p) => {
                    c.rbuf.extend_from_slice(&data[..p]);
                    data = &data[p + 1..];
                    let line = String::from_utf8_lossy(&c.rbuf).into_owned();
                    c.rbuf.clear();
                    self.command(i, line);
                }
            }
        }
    }

    fn command(&mut self, i: usize, line: String) {
        self.truth.borrow_mut().commands += 1;
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("");
        let arg: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        let c = &mut self.conns[i];
        let id = c.id;
        match verb {
            "echo" => c.wbuf.extend_from_slice(format!("{}\n", line).as_bytes()),
            "block" => {
                // The induced blocked poll: this thread sleeps inside poll_next.
                self.induced = Induced::Block(arg);
                std::thread::sleep(Duration::from_millis(arg));
                c.wbuf.extend_from_slice(b"ok\n");
            }
            "starve" => {
                // The worker task blocks the same thread once this poll has returned; the
                // doorbell rings meanwhile.
                let _ = self.worker.unbounded_send(arg);
                let (tx, rang) = (self.doorbell.tx.clone(), self.doorbell.rang_at_us.clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(DOORBELL_DELAY_MS));
                    rang.store(now_us(), Ordering::SeqCst);
                    let _ = tx.lock().unwrap().write_all(b"!");
                });
                c.wbuf.extend_from_slice(b"ok\n");
            }
            "get" => {
                let start = c.wbuf.len();
                c.wbuf.resize(start + arg as usize, 0);
                for (k, b) in c.wbuf[start..].iter_mut().enumerate() {
                    *b = (k % 251) as u8;
                }
            }
            "put" => {
                c.upload_left = arg;
                c.upload_sum = 0;
                if arg == 0 {
                    c.wbuf.extend_from_slice(b"sum 0\n");
                }
            }
            "quit" => self.quit = true,
            _ => c.wbuf.extend_from_slice(b"?\n"),
        }
        self.events.push_back(SwarmEvent::Command(id, line));
    }

    fn flush(&mut self, i: usize, cx: &mut Context<'_>) {
        let c = &mut self.conns[i];
        while !c.closed && c.woff < c.wbuf.len() {
            match Pin::new(&mut c.stream).poll_write(cx, &c.wbuf[c.woff..]) {
                Poll::Ready(Ok(n)) if n > 0 => c.woff += n,
                Poll::Ready(_) => c.closed = true,
                Poll::Pending => return,
            }
        }
        if c.woff == c.wbuf.len() {
            c.wbuf.clear();
            c.woff = 0;
        }
    }
}

/// Some per-byte work, so that large uploads cost CPU inside the poll like real protocol work.
fn checksum(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3).rotate_left(5);
    }
    h
}

impl Stream for Swarm {
    type Item = SwarmEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SwarmEvent>> {
        let this = &mut *self;
        let start = now_us();
        log::trace!(target: "libp2p_swarm", "Swarm<TBehavior>::Stream::poll_next:+");
        // Readiness handed to this task since the last poll ended, and what blocked the thread.
        let wakes = std::mem::take(&mut *this.recorder.wakes_us.lock().unwrap());
        let block = this.truth.borrow_mut().last_block.take();
        let rang = this.doorbell.rang_at_us.swap(0, Ordering::SeqCst);
        if let Some((bs, be, ms)) = block {
            // An induced starvation: from the first wake at or after the doorbell to this poll.
            // (A wake stamped after `start` raced this poll's start: it is this poll's.)
            if let Some(&woken) = wakes.iter().find(|&&w| rang != 0 && w >= rang && w < start) {
                let kind = if start - woken >= STALL_US { "starved" } else { "below_threshold" };
                this.truth.borrow_mut().intervals.push(Interval {
                    kind, what: "wake_to_poll", start_us: woken, end_us: start, induced: Induced::Starve(ms), block: Some((bs, be)),
                });
            } else {
                log::warn!(target: "relaygen", "starvation of {} ms without a doorbell wake", ms);
            }
        } else if let Some(&woken) = wakes.first() {
            // Not induced: only a delay long enough to be a stall is worth the truth file.
            if woken < start && start - woken >= STALL_US {
                this.truth.borrow_mut().intervals.push(Interval {
                    kind: "starved", what: "wake_to_poll", start_us: woken, end_us: start, induced: Induced::No, block: None,
                });
            }
        }
        *this.recorder.inner.lock().unwrap() = Some(cx.waker().clone());
        let waker = this.waker.clone();
        let mut inner_cx = Context::from_waker(&waker);
        this.induced = Induced::No;
        let res = this.poll_inner(&mut inner_cx);
        let end = now_us();
        log::trace!(target: "libp2p_swarm", "Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): {}", res.is_ready());
        // A wake during this poll is this poll's to pick up: the task is re-polled anyway.
        this.recorder.wakes_us.lock().unwrap().clear();
        let mut t = this.truth.borrow_mut();
        t.polls += 1;
        if res.is_ready() {
            t.polls_ready += 1;
        }
        if end - start >= SLOW_POLL_US {
            let kind = if end - start >= STALL_US { "blocked_poll" } else { "slow_poll" };
            t.intervals.push(Interval { kind, what: "poll", start_us: start, end_us: end, induced: this.induced, block: None });
        }
        res
    }
}

async fn worker(mut rx: mpsc::UnboundedReceiver<u64>, truth: Rc<RefCell<Truth>>) {
    while let Some(ms) = rx.next().await {
        let start = now_us();
        std::thread::sleep(Duration::from_millis(ms));
        let end = now_us();
        truth.borrow_mut().last_block = Some((start, end, ms));
    }
}

fn init_logging(format: &str) {
    match format {
        "env-micros" => env_logger::Builder::from_default_env()
            .format_timestamp_micros()
            .write_style(env_logger::WriteStyle::Never)
            .init(),
        "env-secs" => env_logger::Builder::from_default_env()
            .format_timestamp_secs()
            .write_style(env_logger::WriteStyle::Never)
            .init(),
        "tracing-full" => {
            use tracing_subscriber::layer::SubscriberExt;
            use tracing_subscriber::util::SubscriberInitExt;
            let targets: tracing_subscriber::filter::Targets =
                std::env::var("RUST_LOG").unwrap_or_default().parse().expect("RUST_LOG as target=level,…");
            // try_init also installs tracing-log's LogTracer: the `log` lines of polling and
            // async-io appear under their log targets.
            tracing_subscriber::registry()
                .with(tracing_subscriber::fmt::layer().with_thread_ids(true).with_writer(std::io::stderr))
                .with(targets)
                .try_init()
                .expect("tracing subscriber");
        }
        other => panic!("unknown log format {}", other),
    }
}

fn serve(log_format: &str, truth_path: &str, port_path: &str) {
    init_logging(log_format);
    let truth = Rc::new(RefCell::new(Truth::default()));
    let t2 = truth.clone();
    async_std::task::block_on(async move {
        let listener: &'static TcpListener = Box::leak(Box::new(TcpListener::bind("127.0.0.1:0").await.expect("bind")));
        let port = listener.local_addr().unwrap().port();
        std::fs::write(port_path, format!("{}\n", port)).expect("port file");
        let (tx, rx) = mpsc::unbounded();
        // Same thread as this block_on: async-global-executor's thread-local executor.
        async_global_executor::spawn_local(worker(rx, t2.clone())).detach();
        let mut swarm = Swarm::new(listener, tx, t2.clone());
        log::info!(target: "relaygen", "listening on 127.0.0.1:{}", port);
        while let Some(ev) = swarm.next().await {
            match ev {
                SwarmEvent::Accepted => t2.borrow_mut().connections += 1,
                SwarmEvent::Command(id, line) => log::debug!(target: "relaygen", "conn {}: {}", id, line),
                SwarmEvent::UploadDone(id, sum) => log::debug!(target: "relaygen", "conn {}: upload done, sum {}", id, sum),
                SwarmEvent::Closed(id) => log::debug!(target: "relaygen", "conn {}: closed", id),
            }
        }
        log::info!(target: "relaygen", "quit");
    });
    std::fs::write(truth_path, truth.borrow().to_json(log_format)).expect("truth file");
}

// ---------------------------------------------------------------- the client

struct Client {
    s: std::net::TcpStream,
}

impl Client {
    fn connect(port: u16) -> Client {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).unwrap();
        Client { s }
    }
    fn send(&mut self, line: &str) {
        self.s.write_all(format!("{}\n", line).as_bytes()).expect("send");
    }
    fn read_line(&mut self) -> String {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        loop {
            let n = self.s.read(&mut b).expect("read");
            if n == 0 || b[0] == b'\n' {
                return String::from_utf8_lossy(&out).into_owned();
            }
            out.push(b[0]);
        }
    }
    fn call(&mut self, line: &str) -> String {
        self.send(line);
        self.read_line()
    }
    fn get(&mut self, n: usize) {
        self.send(&format!("get {}", n));
        let mut buf = vec![0u8; n];
        self.s.read_exact(&mut buf).expect("get");
        assert!(buf.iter().enumerate().all(|(k, &b)| b == (k % 251) as u8), "get: corrupt data");
    }
    fn put(&mut self, n: usize) {
        self.send(&format!("put {}", n));
        let data: Vec<u8> = (0..n).map(|k| (k % 253) as u8).collect();
        for chunk in data.chunks(256 * 1024) {
            self.s.write_all(chunk).expect("put");
        }
        let reply = self.read_line();
        assert_eq!(reply, format!("sum {}", checksum(0, &data)), "put: checksum");
    }
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// A small deterministic PRNG (xorshift) so that scenarios are reproducible without a crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Echo traffic on a few connections for `ms`, pauses of up to `max_pause` ms between calls.
fn traffic(port: u16, conns: usize, ms: u64, max_pause: u64, seed: u64) {
    let mut cs: Vec<Client> = (0..conns).map(|_| Client::connect(port)).collect();
    let mut rng = Rng(seed | 1);
    let end = now_us() + ms * 1000;
    let mut k = 0u64;
    while now_us() < end {
        let i = rng.next(conns as u64) as usize;
        let msg = format!("echo m{}", k);
        assert_eq!(cs[i].call(&msg), msg);
        k += 1;
        sleep_ms(rng.next(max_pause + 1));
    }
}

/// Many connections at once, each one echo, then all closed.
fn burst(port: u16, n: usize) {
    let handles: Vec<_> = (0..n)
        .map(|k| {
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let msg = format!("echo burst{}", k);
                assert_eq!(c.call(&msg), msg);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// A blocked poll of `ms`; a second connection sends meanwhile (readiness during the poll is
/// the poll's to pick up, not starvation).
fn blocked(port: u16, ctl: &mut Client, ms: u64) {
    ctl.send(&format!("block {}", ms));
    sleep_ms(20);
    let mut other = Client::connect(port);
    other.send("echo during-block");
    assert_eq!(ctl.read_line(), "ok");
    assert_eq!(other.read_line(), "echo during-block");
}

/// Starvation of `ms`: the worker blocks the thread; the doorbell rings 20 ms later and this
/// client's data arrives 50 ms later, both for the swarm.
fn starve(ctl: &mut Client, ms: u64) {
    assert_eq!(ctl.call(&format!("starve {}", ms)), "ok");
    sleep_ms(50);
    assert_eq!(ctl.call("echo after-starve"), "echo after-starve");
}

fn client(port: u16, scenario: &str) {
    let mut ctl = Client::connect(port);
    match scenario {
        // Mixed traffic, bursts of connections, large transfers, an idle second: no stall induced.
        "mixed" => {
            traffic(port, 3, 1500, 30, 7);
            burst(port, 20);
            traffic(port, 2, 800, 5, 11);
            ctl.get(4 << 20);
            ctl.put(4 << 20);
            sleep_ms(1500); // idle: the reactor waits in epoll, nothing is stalled
            let t = std::thread::spawn(move || traffic(port, 2, 1200, 10, 13));
            let mut big = Client::connect(port);
            big.put(8 << 20);
            big.get(8 << 20);
            t.join().unwrap();
            burst(port, 30);
            traffic(port, 3, 800, 20, 17);
        }
        // Each stall kind several times, 0.3 s to 3 s, with traffic in between.
        "stalls" => {
            traffic(port, 2, 400, 20, 3);
            let plan: [(&str, u64); 10] = [
                ("block", 300), ("starve", 300), ("block", 1200), ("starve", 1500), ("block", 700),
                ("starve", 2000), ("block", 3000), ("starve", 800), ("block", 2000), ("starve", 3000),
            ];
            for (k, (what, ms)) in plan.iter().enumerate() {
                if *what == "block" { blocked(port, &mut ctl, *ms) } else { starve(&mut ctl, *ms) }
                traffic(port, 2, 300, 20, 100 + k as u64);
            }
            burst(port, 10);
        }
        other => panic!("unknown scenario {}", other),
    }
    ctl.send("quit");
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
            eprintln!("usage: relaygen serve --log env-micros|env-secs|tracing-full --truth FILE --port-file FILE\n       relaygen client --port N --scenario mixed|stalls");
            std::process::exit(2);
        }
    }
}
