//! Rules of the helpdesk push integration: how a ticket pushed by a helpdesk finds its
//! customer (the customer's `helpdesk_ref`, else the contact's e-mail domain), what an
//! idempotent upsert answers, and how Zammad's vocabulary (states, priorities, time units,
//! HTML article bodies) maps onto Kontor's.

use crate::ticket::{Priority, TicketStatus};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// What an idempotent upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpsertResult {
    /// A new record was created.
    Created,
    /// The record existed and was changed.
    Updated,
    /// The record existed and already said what was sent: nothing was written.
    Unchanged,
}

/// How the customer of a pushed ticket was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CustomerMatch {
    /// The ticket already had its customer (updates never move a ticket to another customer).
    Existing,
    /// A customer's `helpdesk_ref` equals the reference sent.
    HelpdeskRef,
    /// Exactly one customer has the contact's e-mail domain (billing e-mail or a contact).
    EmailDomain,
}

/// Why no customer could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoCustomer {
    /// Nothing matched.
    Unmatched,
    /// Several customers matched the same way (their ids).
    Ambiguous(CustomerMatch, Vec<i64>),
}

/// Chooses the customer of a pushed ticket: a `helpdesk_ref` match wins; else the single
/// customer with the contact's e-mail domain. Several matches of the winning kind are
/// ambiguous, never guessed.
pub fn choose_customer(by_ref: &[i64], by_domain: &[i64]) -> Result<(i64, CustomerMatch), NoCustomer> {
    for (ids, how) in [(by_ref, CustomerMatch::HelpdeskRef), (by_domain, CustomerMatch::EmailDomain)] {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        match ids[..] {
            [] => continue,
            [one] => return Ok((one, how)),
            _ => return Err(NoCustomer::Ambiguous(how, ids)),
        }
    }
    Err(NoCustomer::Unmatched)
}

/// Mail domains shared by many unrelated people: a contact's address there says nothing
/// about the customer, so it never matches by domain.
const SHARED_MAIL_DOMAINS: &[&str] = &[
    "aol.com",
    "freenet.de",
    "gmail.com",
    "gmx.at",
    "gmx.ch",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mail.de",
    "mailbox.org",
    "me.com",
    "outlook.com",
    "outlook.de",
    "posteo.de",
    "protonmail.com",
    "proton.me",
    "seznam.cz",
    "t-online.de",
    "web.de",
    "yahoo.com",
    "yahoo.de",
];

/// The lower-cased domain of an e-mail address that may identify a customer; `None` for a
/// malformed address or a shared mail domain (see [`SHARED_MAIL_DOMAINS`]).
pub fn customer_mail_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let well_formed = !local.is_empty()
        && domain.contains('.')
        && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    (well_formed && !SHARED_MAIL_DOMAINS.contains(&domain.as_str())).then_some(domain)
}

/// Zammad's vocabulary.
pub mod zammad {
    use super::*;

    /// The Kontor status of a Zammad ticket state (`new`, `open`, `pending reminder`,
    /// `pending close`, `closed`, `merged`, `removed`); `None` for a state Kontor does not
    /// know (custom states keep the ticket's status).
    pub fn status(state: &str) -> Option<TicketStatus> {
        let state = state.trim().to_ascii_lowercase();
        match state.as_str() {
            "new" => Some(TicketStatus::New),
            "open" => Some(TicketStatus::Open),
            s if s.starts_with("pending") => Some(TicketStatus::Waiting),
            "closed" | "merged" | "removed" => Some(TicketStatus::Closed),
            _ => None,
        }
    }

    /// The priority of a Zammad priority name (`1 low`, `2 normal`, `3 high`, custom names
    /// containing `urgent` or `critical`); `None` keeps the ticket's priority.
    pub fn priority(name: &str) -> Option<Priority> {
        let name = name.to_ascii_lowercase();
        let has = |w: &str| name.split(|c: char| !c.is_ascii_alphanumeric()).any(|part| part == w);
        if has("urgent") || has("critical") {
            Some(Priority::Urgent)
        } else if has("high") {
            Some(Priority::High)
        } else if has("normal") || has("medium") {
            Some(Priority::Normal)
        } else if has("low") {
            Some(Priority::Low)
        } else {
            None
        }
    }

    /// Whole minutes of a Zammad time accounting of `time_unit` units of `unit_minutes`
    /// minutes each (Zammad's default unit is a minute; instances that account hours or
    /// quarter hours use 60 or 15): half a minute or more counts as a minute; `None` when
    /// not positive or over a day.
    pub fn minutes(time_unit: Decimal, unit_minutes: Decimal) -> Option<i64> {
        let minutes = time_unit
            .checked_mul(unit_minutes)?
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()?;
        (1..=24 * 60).contains(&minutes).then_some(minutes)
    }

    /// Plain text of an article body: tags dropped (block ends become line breaks), the
    /// common entities decoded, blank runs collapsed.
    pub fn plain_text(body: &str, content_type: Option<&str>) -> String {
        if !content_type.is_some_and(|t| t.eq_ignore_ascii_case("text/html")) {
            return body.trim().to_string();
        }
        let mut text = String::with_capacity(body.len());
        let mut rest = body;
        while let Some(open) = rest.find('<') {
            text.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('>') else {
                rest = "";
                break;
            };
            let tag = rest[open + 1..open + close].trim_start_matches('/').to_ascii_lowercase();
            let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
            if matches!(name, "br" | "div" | "p" | "li" | "tr" | "h1" | "h2" | "h3" | "blockquote") {
                text.push('\n');
            }
            rest = &rest[open + close + 1..];
        }
        text.push_str(rest);
        let decoded = text
            .replace("&nbsp;", " ")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        let lines: Vec<&str> = decoded.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::zammad;
    use super::*;
    use proptest::prelude::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("a decimal")
    }

    #[test]
    fn a_helpdesk_reference_wins_over_the_mail_domain() {
        assert_eq!(choose_customer(&[7], &[3]), Ok((7, CustomerMatch::HelpdeskRef)));
    }

    #[test]
    fn the_single_customer_of_a_mail_domain_is_chosen_when_no_reference_matches() {
        assert_eq!(choose_customer(&[], &[3, 3]), Ok((3, CustomerMatch::EmailDomain)));
    }

    #[test]
    fn two_customers_with_the_same_domain_are_ambiguous_not_guessed() {
        assert_eq!(choose_customer(&[], &[4, 3]), Err(NoCustomer::Ambiguous(CustomerMatch::EmailDomain, vec![3, 4])));
    }

    #[test]
    fn nothing_matched_is_unmatched() {
        assert_eq!(choose_customer(&[], &[]), Err(NoCustomer::Unmatched));
    }

    #[test]
    fn a_shared_mail_domain_never_identifies_a_customer() {
        assert_eq!(customer_mail_domain("max@GMX.de"), None);
        assert_eq!(customer_mail_domain("it@Mueller-Bau.DE"), Some("mueller-bau.de".into()));
        assert_eq!(customer_mail_domain("no-at-sign"), None);
        assert_eq!(customer_mail_domain("@example.com"), None);
        assert_eq!(customer_mail_domain("a@localhost"), None);
    }

    #[test]
    fn zammad_states_map_onto_the_ticket_life() {
        assert_eq!(zammad::status("new"), Some(TicketStatus::New));
        assert_eq!(zammad::status("open"), Some(TicketStatus::Open));
        assert_eq!(zammad::status("pending reminder"), Some(TicketStatus::Waiting));
        assert_eq!(zammad::status("pending close"), Some(TicketStatus::Waiting));
        assert_eq!(zammad::status("closed"), Some(TicketStatus::Closed));
        assert_eq!(zammad::status("merged"), Some(TicketStatus::Closed));
        assert_eq!(zammad::status("escalated to vendor"), None);
    }

    #[test]
    fn zammad_priorities_are_read_from_their_names() {
        assert_eq!(zammad::priority("1 low"), Some(Priority::Low));
        assert_eq!(zammad::priority("2 normal"), Some(Priority::Normal));
        assert_eq!(zammad::priority("3 high"), Some(Priority::High));
        assert_eq!(zammad::priority("4 urgent"), Some(Priority::Urgent));
        assert_eq!(zammad::priority("highlander"), None);
    }

    #[test]
    fn zammad_time_units_become_whole_minutes() {
        let minute = Decimal::ONE;
        assert_eq!(zammad::minutes(dec("15.0"), minute), Some(15));
        assert_eq!(zammad::minutes(dec("7.5"), minute), Some(8));
        assert_eq!(zammad::minutes(dec("0.2"), minute), None);
        assert_eq!(zammad::minutes(dec("-5"), minute), None);
        assert_eq!(zammad::minutes(dec("1441"), minute), None);
        // An instance accounting hours: 1.25 h.
        assert_eq!(zammad::minutes(dec("1.25"), dec("60")), Some(75));
        assert_eq!(zammad::minutes(dec("25"), dec("60")), None);
    }

    #[test]
    fn an_html_article_becomes_plain_text() {
        let html = "This is a <b>test</b> &amp; more.<div><br></div><div>\n<img src=\"/x\"><br>\nLine two</div>";
        assert_eq!(zammad::plain_text(html, Some("text/html")), "This is a test & more.\nLine two");
        assert_eq!(zammad::plain_text("  a <b> b  ", Some("text/plain")), "a <b> b");
    }

    proptest! {
        #[test]
        fn a_chosen_customer_is_always_one_of_the_matches(by_ref in proptest::collection::vec(1i64..5, 0..3),
                                                          by_domain in proptest::collection::vec(1i64..5, 0..3)) {
            if let Ok((id, how)) = choose_customer(&by_ref, &by_domain) {
                let source = if how == CustomerMatch::HelpdeskRef { &by_ref } else { &by_domain };
                prop_assert!(source.contains(&id));
                prop_assert!(source.iter().all(|&x| x == id));
            }
        }

        #[test]
        fn text_without_markup_passes_through(s in "[a-z][a-z ]{0,38}[a-z]") {
            prop_assert_eq!(zammad::plain_text(&s, Some("text/html")), s);
        }

        #[test]
        fn plain_text_is_never_longer_than_the_body(s in "\\PC{0,80}") {
            prop_assert!(zammad::plain_text(&s, Some("text/html")).len() <= s.len());
        }
    }
}
