//! `FakeForge`: a small HTTP/1.1 server on 127.0.0.1 that plays a forge's
//! API from a script. Each route answers with a status, headers and a body
//! (or with silence, or with raw bytes); every request is recorded with its
//! headers and body. A route that was never hit fails the test when the
//! server is dropped. Every loop is bounded in time, and the
//! server stops when dropped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// No test needs a server longer than this; a forgotten one stops itself.
const LIFETIME: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub enum Reply {
    /// A complete answer.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Reads the request and never answers (until the server stops).
    Silence,
    /// Sends a 200's headers, then nothing of the body it announced.
    Stall,
    /// Sends a 200's headers announcing a large body, then one byte of it
    /// every `interval`, until the server stops.
    Trickle(Duration),
    /// This reply, after a wait.
    Late(Duration, Box<Reply>),
    /// Exactly these bytes, however malformed.
    Raw(Vec<u8>),
    /// A 200 whose body is this many bytes of JSON-looking filler.
    Huge(usize),
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Reply::Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Reply::Answer {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Answer { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

struct Route {
    method: String,
    path: String,
    reply: Reply,
    hits: usize,
}

/// One request as the server saw it; header names lowercased.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

pub struct FakeForge {
    port: u16,
    routes: Arc<Mutex<Vec<Route>>>,
    /// What answers a request no route matches (GitHub's 404 unless set).
    otherwise: Arc<Mutex<Option<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

impl FakeForge {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes = Arc::new(Mutex::new(Vec::<Route>::new()));
        let otherwise = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let (routes, otherwise, seen, stop) = (
                routes.clone(),
                otherwise.clone(),
                seen.clone(),
                stop.clone(),
            );
            thread::spawn(move || serve(listener, routes, otherwise, seen, stop))
        };
        Self {
            port,
            routes,
            otherwise,
            seen,
            stop,
            server: Some(server),
        }
    }

    /// `http://127.0.0.1:PORT`, for `patrol.apiUrl`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A route the test requires to be hit: one never requested fails the
    /// test. Requests no route matches get GitHub's 404.
    pub fn expect(&self, method: &str, path: &str, reply: Reply) -> &Self {
        self.routes.lock().unwrap().push(Route {
            method: method.into(),
            path: path.into(),
            reply,
            hits: 0,
        });
        self
    }

    /// The answer to any request no route matches (a redirect, say), where
    /// the test cares that something answers rather than what was asked.
    pub fn otherwise(&self, reply: Reply) -> &Self {
        *self.otherwise.lock().unwrap() = Some(reply);
        self
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Fails the test when a route it expected was never hit.
    pub fn verify(&self) {
        let missed: Vec<String> = self
            .routes
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.hits == 0)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(
            missed.is_empty(),
            "the fake forge expected {missed:?}, which were never requested; it saw {:?}",
            self.requests()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
        );
    }
}

impl Drop for FakeForge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
        if !thread::panicking() {
            self.verify();
        }
    }
}

fn serve(
    listener: TcpListener,
    routes: Arc<Mutex<Vec<Route>>>,
    otherwise: Arc<Mutex<Option<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
) {
    let started = Instant::now();
    let mut connections = Vec::new();
    while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
        match listener.accept() {
            Ok((stream, _)) => {
                let (routes, otherwise, seen, stop) = (
                    routes.clone(),
                    otherwise.clone(),
                    seen.clone(),
                    stop.clone(),
                );
                connections.push(thread::spawn(move || {
                    let _ = answer(stream, &routes, &otherwise, &seen, &stop, started);
                }));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
    stop.store(true, Ordering::SeqCst);
    for connection in connections {
        let _ = connection.join();
    }
}

fn answer(
    mut stream: TcpStream,
    routes: &Mutex<Vec<Route>>,
    otherwise: &Mutex<Option<Reply>>,
    seen: &Mutex<Vec<Seen>>,
    stop: &AtomicBool,
    started: Instant,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let Some(request) = read_request(&mut stream)? else {
        return Ok(());
    };
    let reply =
        {
            let mut routes = routes.lock().unwrap();
            match routes
                .iter_mut()
                .find(|r| r.method == request.method && r.path == request.path)
            {
                Some(route) => {
                    route.hits += 1;
                    route.reply.clone()
                }
                None => otherwise.lock().unwrap().clone().unwrap_or_else(|| {
                    Reply::json(404, serde_json::json!({ "message": "Not Found" }))
                }),
            }
        };
    seen.lock().unwrap().push(request);
    let mut reply = reply;
    while let Reply::Late(delay, later) = reply {
        let until = Instant::now() + delay;
        while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME && Instant::now() < until
        {
            thread::sleep(Duration::from_millis(10));
        }
        reply = *later;
    }
    match reply {
        Reply::Answer {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} Fake\r\n");
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            stream.write_all(head.as_bytes())?;
            stream.write_all(&body)?;
        }
        Reply::Silence => {
            while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
                thread::sleep(Duration::from_millis(10));
            }
        }
        Reply::Stall => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            )?;
            stream.flush()?;
            while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
                thread::sleep(Duration::from_millis(10));
            }
        }
        Reply::Trickle(interval) => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
            )?;
            stream.flush()?;
            let mut last = Instant::now();
            while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
                if last.elapsed() >= interval {
                    // The client hangs up at its deadline: a write error ends this.
                    stream.write_all(b" ")?;
                    stream.flush()?;
                    last = Instant::now();
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
        Reply::Raw(bytes) => stream.write_all(&bytes)?,
        Reply::Late(..) => unreachable!("delays were waited out above"),
        Reply::Huge(size) => {
            stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )?;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            // The client hangs up once it has read enough: a write error ends this.
            while sent < size && !stop.load(Ordering::SeqCst) {
                let n = chunk.len().min(size - sent);
                stream.write_all(&chunk[..n])?;
                sent += n;
            }
        }
    }
    stream.flush()
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Seen>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if data.len() > 64 * 1024 {
            return Ok(None);
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(1024 * 1024);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Ok(Some(Seen {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}
