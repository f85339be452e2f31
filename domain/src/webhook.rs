//! Webhook rules: which events a webhook wants (event-type patterns with wildcards), when a
//! failed delivery is tried again (the back-off schedule with jitter), and when a webhook that
//! keeps failing is switched off. Pure values; the dispatcher does the IO.

use std::time::Duration;

/// The longest event-type pattern and the most patterns a webhook may have.
pub const MAX_PATTERN_LEN: usize = 100;
pub const MAX_PATTERNS: usize = 50;

/// Whether `pattern` is a valid event-type pattern: `*`, an event type such as
/// `invoice.issued`, or a prefix wildcard such as `invoice.*` (lower-case letters, digits, `_`
/// and `.`).
pub fn is_valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let body = pattern.strip_suffix(".*").unwrap_or(pattern);
    !body.is_empty()
        && pattern.len() <= MAX_PATTERN_LEN
        && !body.starts_with('.')
        && !body.ends_with('.')
        && !body.contains("..")
        && body.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// Whether an event of `event_type` goes to a webhook with these patterns.
pub fn wants(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => event_type.starts_with(prefix),
        None => p == event_type,
    })
}

/// The default retry schedule: the waits after the 1st, 2nd, … failed attempt (about 1 min
/// to 24 h; 8 attempts in all).
pub const DEFAULT_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(24 * 3600),
];

/// What happens after a failed attempt number `attempt` (1-based): the wait before the next
/// one — the schedule's entry, ±10 % by `jitter` in `[0, 1)` — or `None` when the schedule
/// is used up and the delivery has failed for good.
pub fn retry_after(schedule: &[Duration], attempt: u32, jitter: f64) -> Option<Duration> {
    let base = *schedule.get(usize::try_from(attempt).ok()?.checked_sub(1)?)?;
    let factor = 0.9 + 0.2 * jitter.clamp(0.0, 1.0);
    Some(base.mul_f64(factor))
}

/// Whether a webhook failing without a success since `failing_for` is switched off.
pub fn should_disable(failing_for: Duration, disable_after: Duration) -> bool {
    failing_for >= disable_after
}

/// The text a Standard Webhooks signature signs: `"{id}.{timestamp}.{body}"`.
pub fn signed_content(message_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut out = format!("{message_id}.{timestamp}.").into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_webhook_gets_the_types_it_names_by_name_prefix_or_star() {
        assert!(wants(&p(&["invoice.issued"]), "invoice.issued"));
        assert!(!wants(&p(&["invoice.issued"]), "invoice.paid"));
        assert!(wants(&p(&["invoice.*"]), "invoice.paid"));
        assert!(!wants(&p(&["invoice.*"]), "invoices.paid"), "the dot is part of the prefix");
        assert!(wants(&p(&["ticket.created", "*"]), "project.status_changed"));
        assert!(!wants(&p(&[]), "invoice.issued"));
    }

    #[test]
    fn patterns_are_types_prefix_wildcards_or_star() {
        for ok in ["*", "invoice.issued", "invoice.*", "contract.quota_threshold", "webhook.ping"] {
            assert!(is_valid_pattern(ok), "{ok}");
        }
        for bad in ["", ".", "invoice.", ".invoice", "Invoice.Issued", "invoice..paid", "in*voice", "*.paid", ".*"] {
            assert!(!is_valid_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn a_failed_delivery_waits_longer_each_time_and_gives_up_after_the_schedule() {
        let s = DEFAULT_SCHEDULE;
        assert_eq!(retry_after(&s, 1, 0.5), Some(Duration::from_secs(60)));
        assert_eq!(retry_after(&s, 7, 0.5), Some(Duration::from_secs(24 * 3600)));
        assert_eq!(retry_after(&s, 8, 0.5), None);
        assert_eq!(retry_after(&s, 0, 0.5), None);
        assert_eq!(retry_after(&s, 1, 0.0), Some(Duration::from_secs(54)));
        assert_eq!(retry_after(&s, 1, 1.0), Some(Duration::from_secs(66)));
    }

    #[test]
    fn a_webhook_is_switched_off_after_failing_long_enough() {
        let day = Duration::from_secs(86400);
        assert!(!should_disable(day, 5 * day));
        assert!(should_disable(5 * day, 5 * day));
    }

    #[test]
    fn the_signed_content_is_id_timestamp_and_body() {
        assert_eq!(signed_content("msg_1", 1700000000, b"{}"), b"msg_1.1700000000.{}".to_vec());
    }

    proptest! {
        #[test]
        fn jitter_keeps_every_wait_within_ten_percent(attempt in 1u32..8, jitter in 0.0f64..1.0) {
            let wait = retry_after(&DEFAULT_SCHEDULE, attempt, jitter).unwrap().as_secs_f64();
            let base = DEFAULT_SCHEDULE[attempt as usize - 1].as_secs_f64();
            prop_assert!(wait >= base * 0.9 - 1e-9 && wait <= base * 1.1 + 1e-9);
        }
    }
}
