//! Tickets: status machine, priorities, sources and ticket numbers.
//!
//! The life of a ticket is `new → open → in_progress ⇄ waiting → resolved → closed`;
//! a resolved or closed ticket can be reopened. Nothing else is allowed, so that a
//! status change on the timeline always means the same thing.

use crate::customer::str_enum;
use serde::{Deserialize, Serialize};

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Just received, nobody has looked at it.
    New,
    /// Accepted and queued.
    Open,
    /// Somebody works on it.
    InProgress,
    /// Waiting for the customer or a third party.
    Waiting,
    /// Work is done; billable once resolved.
    Resolved,
    /// Finished for good (may still be reopened).
    Closed,
}

str_enum!(TicketStatus {
    New => "new",
    Open => "open",
    InProgress => "in_progress",
    Waiting => "waiting",
    Resolved => "resolved",
    Closed => "closed",
});

impl TicketStatus {
    /// The statuses a ticket may move to from this one.
    pub fn next(self) -> &'static [TicketStatus] {
        use TicketStatus::*;
        match self {
            New => &[Open],
            Open => &[InProgress],
            InProgress => &[Waiting, Resolved],
            Waiting => &[InProgress, Resolved],
            Resolved => &[Closed, Open],
            Closed => &[Open],
        }
    }

    /// Checks a status change; the error lists what is allowed instead.
    pub fn transition(self, to: TicketStatus) -> Result<(), &'static [TicketStatus]> {
        if self.next().contains(&to) {
            Ok(())
        } else {
            Err(self.next())
        }
    }

    /// Whether the work on the ticket is finished (resolved or closed).
    pub fn is_done(self) -> bool {
        matches!(self, TicketStatus::Resolved | TicketStatus::Closed)
    }
}

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

str_enum!(Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" });

/// How a ticket came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketSource {
    /// Created through this API directly.
    Api,
    /// Pushed by an external helpdesk.
    Helpdesk,
    /// From an e-mail.
    Email,
    /// From a phone call.
    Phone,
    /// From the customer portal.
    Portal,
    /// A periodic work order created by a contract's schedule.
    Schedule,
}

str_enum!(TicketSource {
    Api => "api",
    Helpdesk => "helpdesk",
    Email => "email",
    Phone => "phone",
    Portal => "portal",
    Schedule => "schedule"
});

/// A request (ticket) or a generated periodic work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketType {
    Ticket,
    WorkOrder,
}

str_enum!(TicketType { Ticket => "ticket", WorkOrder => "work_order" });

/// The human-readable number of the `seq`-th ticket of `year`: `T-2026-000123`.
pub fn ticket_number(year: i32, seq: i64) -> String {
    format!("T-{year}-{seq:06}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use TicketStatus::*;

    #[test]
    fn a_ticket_goes_from_new_to_closed_through_every_stage() {
        let path = [New, Open, InProgress, Waiting, InProgress, Resolved, Closed];
        for pair in path.windows(2) {
            assert_eq!(pair[0].transition(pair[1]), Ok(()), "{:?} → {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn resolved_and_closed_tickets_can_be_reopened() {
        assert!(Resolved.transition(Open).is_ok());
        assert!(Closed.transition(Open).is_ok());
    }

    #[test]
    fn skipping_work_is_refused_with_the_allowed_next_steps() {
        assert_eq!(New.transition(Resolved), Err(&[Open][..]));
        assert_eq!(Open.transition(Closed), Err(&[InProgress][..]));
        assert!(Waiting.transition(Closed).is_err());
        assert!(Closed.transition(Closed).is_err());
    }

    #[test]
    fn ticket_numbers_are_zero_padded_per_year() {
        assert_eq!(ticket_number(2026, 123), "T-2026-000123");
        assert_eq!(ticket_number(2027, 1), "T-2027-000001");
    }

    proptest! {
        /// Whatever the client asks, a ticket only ever reaches `closed` via `resolved`.
        #[test]
        fn closed_is_reached_only_from_resolved(steps in proptest::collection::vec(0usize..6, 0..40)) {
            let all = [New, Open, InProgress, Waiting, Resolved, Closed];
            let mut status = New;
            for s in steps {
                let to = all[s];
                if status.transition(to).is_ok() {
                    if to == Closed {
                        prop_assert_eq!(status, Resolved);
                    }
                    status = to;
                }
            }
        }
    }
}
