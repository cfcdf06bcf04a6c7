//! The HTTP layer under async-openai: every request waits for one of
//! `max_concurrency` permits (one semaphore per provider), runs under a timeout,
//! and is retried with exponential backoff and jitter on 429, 5xx, timeouts and
//! connection errors, honouring `Retry-After`. Retries and in-flight counts are
//! recorded for the caller's report.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use reqwest::Response;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt as _};

/// Limits and counters shared by every request to one provider.
#[derive(Debug)]
pub struct Policy {
    pub semaphore: Semaphore,
    pub timeout: Duration,
    pub max_retries: u32,
    /// First backoff; doubled per retry, with jitter, capped at `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    retries: AtomicU64,
    seed: AtomicU64,
}

impl Policy {
    /// At most `max_concurrency` requests in flight, each under `timeout`, retried `max_retries` times.
    pub fn new(max_concurrency: usize, timeout: Duration, max_retries: u32) -> Policy {
        Policy {
            semaphore: Semaphore::new(max_concurrency),
            timeout,
            max_retries,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            retries: AtomicU64::new(0),
            seed: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// The most requests that were in flight at once.
    pub fn peak_in_flight(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Retries made by every request so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// `base · 2^attempt`, capped, then between 50% and 100% of that (jitter).
    fn backoff(&self, attempt: u32) -> Duration {
        let full = self.base_backoff.saturating_mul(1 << attempt.min(16)).min(self.max_backoff);
        // xorshift: jitter needs no cryptographic randomness.
        let mut x = self.seed.fetch_add(0x6A09_E667_F3BC_C909, Ordering::Relaxed) ^ nanos();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let fraction = 0.5 + (x % 1000) as f64 / 2000.0;
        full.mul_f64(fraction)
    }
}

fn nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos() as u64).unwrap_or(0)
}

tokio::task_local! {
    /// Retries of the request the current task is making (for per-call reports).
    pub static CALL_RETRIES: Arc<AtomicU32>;
}

/// The tower service handed to async-openai.
#[derive(Clone)]
pub struct Transport {
    inner: ReqwestService,
    policy: Arc<Policy>,
}

impl Transport {
    /// Send requests with `client` under `policy`.
    pub fn new(client: reqwest::Client, policy: Arc<Policy>) -> Transport {
        Transport { inner: ReqwestService::new(client), policy }
    }
}

/// Why an attempt may be retried, and after how long the server asked.
fn retryable(response: &Response) -> Option<Option<Duration>> {
    let status = response.status();
    if status.as_u16() == 429 || status.is_server_error() {
        let after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        return Some(after);
    }
    None
}

impl Service<HttpRequestFactory> for Transport {
    type Response = Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<Response, OpenAIError>> + Send + 'static>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let inner = self.inner.clone();
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let mut attempt = 0u32;
            loop {
                let outcome = {
                    let _permit = policy
                        .semaphore
                        .acquire()
                        .await
                        .map_err(|_| OpenAIError::InvalidArgument("the request limiter is closed".into()))?;
                    let now = policy.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    policy.peak.fetch_max(now, Ordering::SeqCst);
                    let result = tokio::time::timeout(policy.timeout, inner.clone().oneshot(request.clone())).await;
                    policy.in_flight.fetch_sub(1, Ordering::SeqCst);
                    result
                };
                let wait = match outcome {
                    Ok(Ok(response)) => match retryable(&response) {
                        Some(after) if attempt < policy.max_retries => after,
                        _ => return Ok(response),
                    },
                    Ok(Err(error)) => {
                        let transient = matches!(&error, OpenAIError::Reqwest(e) if e.is_connect() || e.is_timeout() || e.is_request());
                        if !transient || attempt >= policy.max_retries {
                            return Err(error);
                        }
                        None
                    }
                    Err(_elapsed) => {
                        if attempt >= policy.max_retries {
                            return Err(OpenAIError::InvalidArgument(format!(
                                "no answer within {:.0} s ({} attempts)",
                                policy.timeout.as_secs_f64(),
                                attempt + 1
                            )));
                        }
                        None
                    }
                };
                let delay = wait
                    .unwrap_or_else(|| policy.backoff(attempt))
                    .min(policy.max_backoff.max(Duration::from_secs(1)) * 4);
                attempt += 1;
                policy.retries.fetch_add(1, Ordering::Relaxed);
                let _ = CALL_RETRIES.try_with(|r| r.fetch_add(1, Ordering::Relaxed));
                tokio::time::sleep(delay).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let p = Policy::new(1, Duration::from_secs(1), 3);
        for attempt in 0..20 {
            let full = p.base_backoff.saturating_mul(1 << attempt.min(16)).min(p.max_backoff);
            let d = p.backoff(attempt);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?} of {full:?}");
        }
    }
}
