//! The webhook dispatcher: a background task on every node that turns new events of the
//! outbox into deliveries ([`Store::fan_out_events`]), claims due deliveries
//! ([`Store::claim_deliveries`], one node per delivery) and sends them as the Standard
//! Webhooks specification describes — `POST` of the envelope `{id, type, occurred_at, data}`
//! with the headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` and the
//! base64 HMAC-SHA256 of `id.timestamp.body` under the webhook's secret) — then records the
//! attempt and, on failure, when to try again (`KONTOR_WEBHOOK_RETRY_SCHEDULE`).
//!
//! Targets on loopback, private or link-local addresses are refused unless
//! `KONTOR_WEBHOOK_ALLOW_PRIVATE=true`; redirects are not followed; an attempt times out
//! after 10 s.

use crate::config::WebhookSettings;
use base64::Engine;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use persistence::webhooks::{Attempt, AttemptOutcome, DeliveryJob};
use persistence::Store;
use sha2::Sha256;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Deliveries claimed per round, sent at most this many at a time.
const BATCH: i64 = 64;
const CONCURRENCY: usize = 16;
/// Events fanned out per round.
const FAN_OUT: i64 = 500;
/// How much of the receiver's answer the log keeps.
const EXCERPT_CHARS: usize = 500;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The `webhook-signature` entry of one secret: `v1,<base64 HMAC-SHA256>`.
pub fn signature(secret: &str, message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or_else(|_| encoded.as_bytes().to_vec());
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(&domain::webhook::signed_content(message_id, timestamp, body));
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// Whether an address is one a webhook may not reach without `KONTOR_WEBHOOK_ALLOW_PRIVATE`.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]) // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Why `url` may not be a webhook target: not `http(s)`, no host, or (unless private targets
/// are allowed) a host that is or resolves to a private address.
pub async fn target_problem(url: &str, allow_private: bool) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => return Some("an absolute http:// or https:// URL".into()),
    };
    let Some(host) = parsed.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string()) else {
        return Some("a URL with a host".into());
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("a URL without credentials (the signature authenticates Kontor)".into());
    }
    if allow_private {
        return None;
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(found) => found.map(|a| a.ip()).collect(),
            Err(e) => return Some(format!("a host that resolves ({host}: {e})")),
        },
    };
    addresses
        .into_iter()
        .find(|ip| is_private(*ip))
        .map(|ip| format!("a public address ({host} is {ip}; private targets need KONTOR_WEBHOOK_ALLOW_PRIVATE=true)"))
}

/// The dispatcher of one node.
pub struct Dispatcher {
    store: Store,
    settings: WebhookSettings,
    client: reqwest::Client,
}

impl Dispatcher {
    pub fn new(store: Store, settings: WebhookSettings) -> Dispatcher {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent("Kontor-Webhooks/1")
            .build()
            .expect("an HTTP client");
        Dispatcher { store, settings, client }
    }

    /// Works until the task is aborted: fans out, delivers, and waits the poll interval
    /// whenever a round found nothing to do.
    pub async fn run(self) {
        poll_rounds("webhook dispatcher", self.settings.poll_interval, || self.round()).await
    }

    /// One round; whether it found work.
    async fn round(&self) -> Result<bool, persistence::StoreError> {
        let fanned = self.store.fan_out_events(FAN_OUT).await?;
        let jobs = self.store.claim_deliveries(BATCH, self.settings.lease).await?;
        let claimed = jobs.len();
        futures_util::stream::iter(jobs).for_each_concurrent(CONCURRENCY, |job| self.deliver(job)).await;
        Ok(fanned > 0 || claimed > 0)
    }

    /// Sends one delivery and records the attempt.
    async fn deliver(&self, job: DeliveryJob) {
        let attempt_no = job.attempts + 1;
        let now = persistence::types::DbTime::now();
        let message_id = format!("evt_{}", job.event.id);
        let data = crate::event_data::api_data(&self.store, &job.event.event_type, &job.event.payload).await;
        let body = serde_json::to_vec(&serde_json::json!({
            "id": message_id,
            "type": job.event.event_type,
            "occurred_at": crate::dto::timestamp(&job.event.created_at),
            "data": data,
        }))
        .unwrap_or_default();
        let timestamp = now.0.unix_timestamp();
        let signatures: Vec<String> =
            job.webhook.signing_secrets(now).into_iter().map(|s| signature(s, &message_id, timestamp, &body)).collect();
        let started = Instant::now();
        let (status_code, response_excerpt, error) =
            match target_problem(&job.webhook.data.url, self.settings.allow_private).await {
                Some(problem) => (None, None, Some(format!("target refused: not {problem}"))),
                None => {
                    let sent = self
                        .client
                        .post(&job.webhook.data.url)
                        .header("content-type", "application/json")
                        .header("webhook-id", &message_id)
                        .header("webhook-timestamp", timestamp.to_string())
                        .header("webhook-signature", signatures.join(" "))
                        .body(body)
                        .send()
                        .await;
                    match sent {
                        Ok(res) => {
                            let code = i64::from(res.status().as_u16());
                            let text = res.text().await.unwrap_or_default();
                            (Some(code), Some(text.chars().take(EXCERPT_CHARS).collect::<String>()), None)
                        }
                        Err(e) => (None, None, Some(describe(&e))),
                    }
                }
            };
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let succeeded = status_code.is_some_and(|c| (200..300).contains(&c));
        let outcome = if succeeded {
            AttemptOutcome::Succeeded
        } else {
            let jitter: f64 = rand::random();
            let attempt = u32::try_from(attempt_no).unwrap_or(u32::MAX);
            match domain::webhook::retry_after(&self.settings.retry_schedule, attempt, jitter) {
                Some(wait) => AttemptOutcome::RetryAfter(wait),
                None => AttemptOutcome::Failed,
            }
        };
        let attempt = Attempt {
            delivery_id: job.delivery_id,
            attempt: attempt_no,
            status_code,
            latency_ms,
            response_excerpt: response_excerpt.filter(|t| !t.is_empty()),
            error,
            attempted_at: now,
        };
        if let Err(e) = self.store.record_attempt(&job, &attempt, &outcome, self.settings.disable_after).await {
            // The lease runs out and the delivery is tried again: at least once.
            tracing::warn!(error = %e, delivery = job.delivery_id, "could not record a webhook attempt");
        }
    }
}

/// A short reason for a request that got no answer.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out after 10 s".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        format!("request failed: {e}")
    }
}

/// Runs `round` until the task is aborted, pausing `pause` whenever a round found nothing to
/// do (or failed: logged as `what`, tried again).
pub(crate) async fn poll_rounds<F, Fut>(what: &str, pause: std::time::Duration, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, persistence::StoreError>>,
{
    loop {
        let busy = match round().await {
            Ok(busy) => busy,
            Err(e) => {
                tracing::warn!(error = %e, "{what} round failed; trying again");
                false
            }
        };
        if !busy {
            tokio::time::sleep(pause).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_follows_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification's reference implementations.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_private() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2a00:1450::1", "100.128.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn only_public_http_targets_are_allowed_unless_private_ones_are() {
        assert!(target_problem("ftp://example.com/x", true).await.is_some());
        assert!(target_problem("https://user:pw@example.com/x", true).await.is_some());
        assert!(target_problem("http://127.0.0.1:9/hook", false)
            .await
            .unwrap()
            .contains("KONTOR_WEBHOOK_ALLOW_PRIVATE"));
        assert!(target_problem("http://[::1]:9/hook", false).await.is_some());
        assert_eq!(target_problem("http://127.0.0.1:9/hook", true).await, None);
        assert_eq!(target_problem("https://8.8.8.8/hook", false).await, None);
    }
}
