//! A local OpenAI-compatible HTTP server for tests and benchmarks: real HTTP on
//! 127.0.0.1, `POST /v1/chat/completions`, with answers from a script.
//!
//! Each request is answered by the script's function, which sees the request
//! number and body and returns a [`Reply`]: a good answer after some latency, an
//! error status with `Retry-After`, a hang, or a malformed body. The server counts
//! requests and the most that were in flight at once.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this assistant content, after `latency`.
    Content { content: String, latency: Duration },
    /// This status, with `Retry-After: <seconds>` when given.
    Status { code: u16, retry_after: Option<f64>, body: String },
    /// Never answer (until the client gives up).
    Hang,
    /// 200 with this raw body.
    Raw(String),
}

impl Reply {
    pub fn content(text: impl Into<String>) -> Reply {
        Reply::Content { content: text.into(), latency: Duration::ZERO }
    }
}

type Script = dyn Fn(usize, &str) -> Reply + Send + Sync;

/// A running server; stops when dropped.
pub struct Server {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    pub peak_in_flight: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Start on a free port of 127.0.0.1.
    pub fn start(script: impl Fn(usize, &str) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let script: Arc<Script> = Arc::new(script);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, f, p, s) = (Arc::clone(&requests), Arc::clone(&in_flight), Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (script, r, f, p, s) =
                            (Arc::clone(&script), Arc::clone(&r), Arc::clone(&f), Arc::clone(&p), Arc::clone(&s));
                        std::thread::spawn(move || serve(stream, &*script, &r, &f, &p, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server { base_url: format!("http://{addr}/v1"), requests, peak_in_flight: peak, stop }
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A chat-completion response body with `content`.
pub fn completion_body(content: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
    })
    .to_string()
}

fn serve(
    mut stream: TcpStream,
    script: &Script,
    requests: &Mutex<Vec<String>>,
    in_flight: &AtomicUsize,
    peak: &AtomicUsize,
    stop: &AtomicBool,
) {
    let _ = stream.set_nonblocking(false);
    let Some(body) = read_request(&stream) else { return };
    let number = {
        let mut all = requests.lock().unwrap();
        all.push(body.clone());
        all.len() - 1
    };
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    peak.fetch_max(now, Ordering::SeqCst);
    let reply = script(number, &body);
    let (status, extra, body) = match reply {
        Reply::Content { content, latency } => {
            std::thread::sleep(latency);
            (200, String::new(), completion_body(&content))
        }
        Reply::Status { code, retry_after, body } => {
            (code, retry_after.map(|s| format!("Retry-After: {s}\r\n")).unwrap_or_default(), body)
        }
        Reply::Hang => {
            while !stop.load(Ordering::Relaxed) {
                // Until the client closes the connection or the server stops.
                let mut probe = [0u8; 1];
                let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
                match stream.peek(&mut probe) {
                    Ok(0) => break,
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            in_flight.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        Reply::Raw(body) => (200, String::new(), body),
    };
    in_flight.fetch_sub(1, Ordering::SeqCst);
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// The body of one HTTP/1.1 request (headers read up to Content-Length).
fn read_request(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}
