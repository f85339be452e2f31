//! Projects: the status workflow with its role rules, and effort arithmetic
//! (estimated hours vs. booked minutes).
//!
//! The workflow follows the project office's routine: the project lead declares the
//! work done ("PL fertig"), the project manager reviews it ("PM fertig"), the billing
//! office bills it ("PO abgerechnet") and finally archives it ("PO archiviert").
//! Each step belongs to one responsible person; admins may take any allowed step.
//! Two corrections go back one step: the lead may reopen a project they declared done and
//! the manager may withdraw their approval — or the reviewer of that step returns it (the
//! manager sends "PL fertig" back to the lead, the billing office "PM fertig" to the
//! manager).

use crate::customer::str_enum;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Where a project stands in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    /// Work in progress (the initial status).
    Open,
    /// The project lead declared the work done ("PL fertig").
    LeadDone,
    /// The project manager reviewed and approved it ("PM fertig").
    ManagerDone,
    /// The billing office billed it ("PO abgerechnet").
    Billed,
    /// Closed for good ("PO archiviert"): read-only, hidden from default lists.
    Archived,
}

str_enum!(ProjectStatus {
    Open => "open",
    LeadDone => "lead_done",
    ManagerDone => "manager_done",
    Billed => "billed",
    Archived => "archived",
});

/// Who is responsible for a step of the workflow (and is notified when it is their turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Responsible {
    /// The project's lead (technical execution).
    ProjectLead,
    /// The project's manager (overall responsibility).
    ProjectManager,
    /// The billing office (project office): users with the `billing` role.
    BillingOffice,
}

str_enum!(Responsible {
    ProjectLead => "project_lead",
    ProjectManager => "project_manager",
    BillingOffice => "billing_office",
});

/// What the caller is for this project: the capacities that the role rules look at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Participant {
    /// Holds the `admin` role: may take any allowed step.
    pub admin: bool,
    /// Holds the `billing` role (billing office).
    pub billing: bool,
    /// Is the project's lead.
    pub project_lead: bool,
    /// Is the project's manager.
    pub project_manager: bool,
}

impl Participant {
    /// Whether this participant acts as `who` (admins act as anyone).
    pub fn acts_as(&self, who: Responsible) -> bool {
        self.admin
            || match who {
                Responsible::ProjectLead => self.project_lead,
                Responsible::ProjectManager => self.project_manager,
                Responsible::BillingOffice => self.billing,
            }
    }
}

impl ProjectStatus {
    /// The next status on the way to `archived`, if any.
    pub fn next(self) -> Option<ProjectStatus> {
        match self {
            ProjectStatus::Open => Some(ProjectStatus::LeadDone),
            ProjectStatus::LeadDone => Some(ProjectStatus::ManagerDone),
            ProjectStatus::ManagerDone => Some(ProjectStatus::Billed),
            ProjectStatus::Billed => Some(ProjectStatus::Archived),
            ProjectStatus::Archived => None,
        }
    }

    /// Every status reachable from this one in one step (forward, then corrections).
    pub fn targets(self) -> &'static [ProjectStatus] {
        match self {
            ProjectStatus::Open => &[ProjectStatus::LeadDone],
            ProjectStatus::LeadDone => &[ProjectStatus::ManagerDone, ProjectStatus::Open],
            ProjectStatus::ManagerDone => &[ProjectStatus::Billed, ProjectStatus::LeadDone],
            ProjectStatus::Billed => &[ProjectStatus::Archived],
            ProjectStatus::Archived => &[],
        }
    }

    /// Whether the project can no longer be changed.
    pub fn is_read_only(self) -> bool {
        self == ProjectStatus::Archived
    }

    /// Who takes the next forward step from this status (and is notified on arrival).
    pub fn next_responsible(self) -> Option<Responsible> {
        match self {
            ProjectStatus::Open => Some(Responsible::ProjectLead),
            ProjectStatus::LeadDone => Some(Responsible::ProjectManager),
            ProjectStatus::ManagerDone | ProjectStatus::Billed => Some(Responsible::BillingOffice),
            ProjectStatus::Archived => None,
        }
    }
}

/// Who may move a project from `from` to `to`; `None` when the step does not exist.
pub fn responsible_for(from: ProjectStatus, to: ProjectStatus) -> Option<Responsible> {
    use ProjectStatus::*;
    match (from, to) {
        (Open, LeadDone) | (LeadDone, Open) => Some(Responsible::ProjectLead),
        (LeadDone, ManagerDone) | (ManagerDone, LeadDone) => Some(Responsible::ProjectManager),
        (ManagerDone, Billed) | (Billed, Archived) => Some(Responsible::BillingOffice),
        _ => None,
    }
}

/// Who may also send a project back for corrections: the reviewer of the step being undone.
/// The project manager returns "PL fertig" to the lead (`lead_done` → `open`), the billing
/// office returns "PM fertig" to the manager (`manager_done` → `lead_done`); the one who took
/// the step may always withdraw it ([`responsible_for`]).
pub fn reviewer_of(from: ProjectStatus, to: ProjectStatus) -> Option<Responsible> {
    use ProjectStatus::*;
    match (from, to) {
        (LeadDone, Open) => Some(Responsible::ProjectManager),
        (ManagerDone, LeadDone) => Some(Responsible::BillingOffice),
        _ => None,
    }
}

/// Whether `who` may take the step from `from` to `to`: as the one responsible for it, or
/// as the reviewer returning it for corrections; the capacity they act in.
fn acting_as(from: ProjectStatus, to: ProjectStatus, who: &Participant) -> Option<Responsible> {
    [responsible_for(from, to), reviewer_of(from, to)].into_iter().flatten().find(|r| who.acts_as(*r))
}

/// An accepted status change and whom to tell about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: ProjectStatus,
    pub to: ProjectStatus,
    /// Who took the step (as far as the rules are concerned).
    pub by: Responsible,
    /// Who is responsible next and gets notified; `None` once archived.
    pub notify: Option<Responsible>,
}

/// Why a status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The step does not exist in the workflow (skipping, repeating, leaving `archived`).
    #[error("a project cannot go from `{from}` to `{to}`")]
    NotAllowed { from: ProjectStatus, to: ProjectStatus, allowed: Vec<ProjectStatus> },
    /// The step exists, but it belongs to someone else.
    #[error("only the {} may move a project from `{from}` to `{to}`", required_name(*.required))]
    NotResponsible { from: ProjectStatus, to: ProjectStatus, required: Responsible },
}

fn required_name(r: Responsible) -> &'static str {
    match r {
        Responsible::ProjectLead => "project lead (or an admin)",
        Responsible::ProjectManager => "project manager (or an admin)",
        Responsible::BillingOffice => "billing office (or an admin)",
    }
}

/// Decides a status change: the step must exist, and `who` must be responsible for it.
pub fn transition(from: ProjectStatus, to: ProjectStatus, who: &Participant) -> Result<Transition, TransitionError> {
    let required = match responsible_for(from, to) {
        Some(r) => r,
        None => return Err(TransitionError::NotAllowed { from, to, allowed: from.targets().to_vec() }),
    };
    match acting_as(from, to, who) {
        Some(by) => Ok(Transition { from, to, by, notify: to.next_responsible() }),
        None => Err(TransitionError::NotResponsible { from, to, required }),
    }
}

/// The steps `who` may take from `from` (for showing the right buttons).
pub fn allowed_for(from: ProjectStatus, who: &Participant) -> Vec<ProjectStatus> {
    from.targets().iter().copied().filter(|to| acting_as(from, *to, who).is_some()).collect()
}

// ---- Effort: estimate (hours) vs. actual (booked minutes) ----

/// Minutes as hours, exact to the hundredth (half away from zero): 50 min → 0.83 h.
pub fn minutes_to_hours(minutes: i64) -> Decimal {
    hundredths(Decimal::from(minutes) / Decimal::from(60))
}

/// Rounded to the hundredth (half away from zero) and always shown with two decimals;
/// never "-0.00".
fn hundredths(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    if r.is_zero() {
        r = Decimal::ZERO;
    }
    r.rescale(2);
    r
}

/// Whether `actual_minutes` passed the estimate (strictly more; none without estimate).
/// Compared in minutes, so rounding to hours never hides an overrun. An estimate too
/// large to count in minutes cannot be exceeded.
pub fn estimate_exceeded(estimate_hours: Option<Decimal>, actual_minutes: i64) -> bool {
    estimate_hours
        .and_then(|e| e.checked_mul(Decimal::from(60)))
        .is_some_and(|limit| Decimal::from(actual_minutes) > limit)
}

/// Whether going from `before` to `after` booked minutes crosses the estimate, i.e.
/// the moment to emit `project.estimate_exceeded` (once, not on every later booking).
pub fn crosses_estimate(estimate_hours: Option<Decimal>, before_minutes: i64, after_minutes: i64) -> bool {
    !estimate_exceeded(estimate_hours, before_minutes) && estimate_exceeded(estimate_hours, after_minutes)
}

/// Estimated hours not yet used (negative once exceeded), to the hundredth; `None`
/// without estimate (or beyond the decimal range).
pub fn remaining_hours(estimate_hours: Option<Decimal>, actual_minutes: i64) -> Option<Decimal> {
    estimate_hours.and_then(|e| e.checked_sub(Decimal::from(actual_minutes) / Decimal::from(60))).map(hundredths)
}

/// Share of the estimate used, in percent to one decimal; `None` without a positive
/// estimate (or beyond the decimal range).
pub fn percent_used(estimate_hours: Option<Decimal>, actual_minutes: i64) -> Option<Decimal> {
    let e = estimate_hours.filter(|e| *e > Decimal::ZERO)?;
    let mut p = (Decimal::from(actual_minutes) * Decimal::from(100))
        .checked_div(e.checked_mul(Decimal::from(60))?)?
        .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    p.rescale(1);
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::ProjectStatus::*;
    use super::*;
    use proptest::prelude::*;

    const LEAD: Participant = Participant { admin: false, billing: false, project_lead: true, project_manager: false };
    const MANAGER: Participant =
        Participant { admin: false, billing: false, project_lead: false, project_manager: true };
    const BILLING: Participant =
        Participant { admin: false, billing: true, project_lead: false, project_manager: false };
    const ADMIN: Participant = Participant { admin: true, billing: false, project_lead: false, project_manager: false };
    const NOBODY: Participant =
        Participant { admin: false, billing: false, project_lead: false, project_manager: false };

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_full_path_is_walked_by_lead_manager_and_billing_office_in_turn() {
        let steps = [
            (Open, LeadDone, LEAD),
            (LeadDone, ManagerDone, MANAGER),
            (ManagerDone, Billed, BILLING),
            (Billed, Archived, BILLING),
        ];
        for (from, to, who) in steps {
            let t = transition(from, to, &who).unwrap();
            assert_eq!((t.from, t.to), (from, to));
        }
    }

    #[test]
    fn lead_done_notifies_the_manager_and_manager_done_the_billing_office() {
        assert_eq!(transition(Open, LeadDone, &LEAD).unwrap().notify, Some(Responsible::ProjectManager));
        assert_eq!(transition(LeadDone, ManagerDone, &MANAGER).unwrap().notify, Some(Responsible::BillingOffice));
        assert_eq!(transition(ManagerDone, Billed, &BILLING).unwrap().notify, Some(Responsible::BillingOffice));
        assert_eq!(transition(Billed, Archived, &BILLING).unwrap().notify, None);
    }

    #[test]
    fn a_reopened_project_goes_back_to_its_lead_and_a_withdrawn_approval_to_the_manager() {
        let t = transition(LeadDone, Open, &LEAD).unwrap();
        assert_eq!(t.notify, Some(Responsible::ProjectLead));
        let t = transition(ManagerDone, LeadDone, &MANAGER).unwrap();
        assert_eq!(t.notify, Some(Responsible::ProjectManager));
        // …nor by those below them.
        assert!(matches!(transition(ManagerDone, LeadDone, &LEAD), Err(TransitionError::NotResponsible { .. })));
        assert!(matches!(transition(LeadDone, Open, &BILLING), Err(TransitionError::NotResponsible { .. })));
    }

    #[test]
    fn the_reviewer_returns_a_step_for_corrections_to_whoever_must_correct_it() {
        let t = transition(LeadDone, Open, &MANAGER).unwrap();
        assert_eq!((t.by, t.notify), (Responsible::ProjectManager, Some(Responsible::ProjectLead)));
        let t = transition(ManagerDone, LeadDone, &BILLING).unwrap();
        assert_eq!((t.by, t.notify), (Responsible::BillingOffice, Some(Responsible::ProjectManager)));
        assert_eq!(allowed_for(LeadDone, &MANAGER), vec![ManagerDone, Open]);
        assert_eq!(allowed_for(ManagerDone, &BILLING), vec![Billed, LeadDone]);
    }

    #[test]
    fn only_the_responsible_person_may_take_a_step() {
        let err = transition(Open, LeadDone, &MANAGER).unwrap_err();
        assert_eq!(
            err,
            TransitionError::NotResponsible { from: Open, to: LeadDone, required: Responsible::ProjectLead }
        );
        assert!(transition(LeadDone, ManagerDone, &LEAD).is_err());
        assert!(transition(LeadDone, ManagerDone, &BILLING).is_err());
        assert!(transition(ManagerDone, Billed, &MANAGER).is_err());
        assert!(transition(Billed, Archived, &LEAD).is_err());
        for (from, to) in [(Open, LeadDone), (LeadDone, ManagerDone), (ManagerDone, Billed), (Billed, Archived)] {
            assert!(transition(from, to, &NOBODY).is_err());
        }
    }

    #[test]
    fn admins_may_take_any_existing_step_but_cannot_skip_one_either() {
        for from in ProjectStatus::ALL {
            for to in from.targets() {
                assert!(transition(*from, *to, &ADMIN).is_ok(), "{from} → {to}");
            }
        }
        let err = transition(Open, Billed, &ADMIN).unwrap_err();
        assert_eq!(err, TransitionError::NotAllowed { from: Open, to: Billed, allowed: vec![LeadDone] });
    }

    #[test]
    fn skipping_repeating_or_leaving_archived_is_refused_with_the_allowed_steps() {
        match transition(Open, ManagerDone, &MANAGER) {
            Err(TransitionError::NotAllowed { allowed, .. }) => assert_eq!(allowed, vec![LeadDone]),
            other => panic!("{other:?}"),
        }
        match transition(LeadDone, LeadDone, &LEAD) {
            Err(TransitionError::NotAllowed { allowed, .. }) => assert_eq!(allowed, vec![ManagerDone, Open]),
            other => panic!("{other:?}"),
        }
        match transition(Archived, Billed, &ADMIN) {
            Err(TransitionError::NotAllowed { allowed, .. }) => assert!(allowed.is_empty()),
            other => panic!("{other:?}"),
        }
        assert!(transition(Billed, ManagerDone, &ADMIN).is_err(), "billing cannot be undone here (credit note)");
    }

    #[test]
    fn one_person_in_several_capacities_sees_all_their_steps() {
        let lead_and_manager = Participant { project_lead: true, project_manager: true, ..NOBODY };
        assert_eq!(allowed_for(LeadDone, &lead_and_manager), vec![ManagerDone, Open]);
        assert_eq!(allowed_for(LeadDone, &LEAD), vec![Open]);
        assert_eq!(allowed_for(Open, &BILLING), Vec::<ProjectStatus>::new());
        assert_eq!(allowed_for(ManagerDone, &BILLING), vec![Billed, LeadDone], "billing, or back to the manager");
        assert!(allowed_for(Archived, &ADMIN).is_empty());
    }

    #[test]
    fn statuses_use_their_wire_names() {
        for s in ProjectStatus::ALL {
            assert_eq!(s.as_str().parse::<ProjectStatus>().unwrap(), *s);
        }
        assert_eq!(LeadDone.as_str(), "lead_done");
        assert!("done".parse::<ProjectStatus>().is_err());
        assert!(Archived.is_read_only() && !Billed.is_read_only());
    }

    #[test]
    fn effort_is_compared_in_minutes_and_shown_in_hours() {
        assert_eq!(minutes_to_hours(0), d("0"));
        assert_eq!(minutes_to_hours(90), d("1.5"));
        assert_eq!(minutes_to_hours(50), d("0.83"));
        assert_eq!(minutes_to_hours(1), d("0.02"));
        assert_eq!(minutes_to_hours(0).to_string(), "0.00");
        assert_eq!(minutes_to_hours(90).to_string(), "1.50");
        assert_eq!(remaining_hours(Some(d("0.03")), 2).map(|r| r.to_string()), Some("0.00".into()), "no -0.00");
        assert_eq!(percent_used(Some(d("8")), 240).map(|p| p.to_string()), Some("50.0".into()));
        // 10 h estimate: exactly 600 minutes is used up, not exceeded; 601 is.
        assert!(!estimate_exceeded(Some(d("10")), 600));
        assert!(estimate_exceeded(Some(d("10")), 601));
        // 0.01 h = 0.6 min: a single minute passes it, though both show as 0.0x hours.
        assert!(estimate_exceeded(Some(d("0.01")), 1));
        assert!(!estimate_exceeded(None, 1_000_000));
        assert!(!estimate_exceeded(Some(Decimal::MAX), i64::MAX), "no overflow on absurd estimates");
        assert!(percent_used(Some(Decimal::MAX), 60).is_none());
        assert!(remaining_hours(Some(Decimal::MIN), i64::MAX).is_none());
        assert!(estimate_exceeded(Some(d("0")), 1));
        assert_eq!(remaining_hours(Some(d("10")), 630), Some(d("-0.5")));
        assert_eq!(remaining_hours(None, 30), None);
        assert_eq!(percent_used(Some(d("8")), 240), Some(d("50")));
        assert_eq!(percent_used(Some(d("3")), 60), Some(d("33.3")));
        assert_eq!(percent_used(Some(d("0")), 60), None);
    }

    #[test]
    fn the_estimate_is_crossed_exactly_once() {
        let e = Some(d("2"));
        assert!(!crosses_estimate(e, 0, 120));
        assert!(crosses_estimate(e, 100, 121));
        assert!(!crosses_estimate(e, 121, 200), "already exceeded before");
        assert!(!crosses_estimate(None, 0, 10_000));
    }

    fn who() -> impl Strategy<Value = Participant> {
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(admin, billing, project_lead, project_manager)| Participant {
                admin,
                billing,
                project_lead,
                project_manager,
            },
        )
    }

    fn status() -> impl Strategy<Value = ProjectStatus> {
        prop::sample::select(ProjectStatus::ALL.to_vec())
    }

    fn rank(s: ProjectStatus) -> i32 {
        ProjectStatus::ALL.iter().position(|x| *x == s).map(|i| i as i32).unwrap_or(-1)
    }

    proptest! {
        /// Whatever anyone attempts, the status moves at most one step at a time,
        /// never leaves `archived`, and only reaches `archived` via `billed`.
        #[test]
        fn no_sequence_of_attempts_skips_a_step_or_leaves_archived(
            attempts in prop::collection::vec((status(), who()), 0..60)
        ) {
            let mut current = Open;
            for (to, by) in attempts {
                let before = current;
                match transition(current, to, &by) {
                    Ok(t) => {
                        prop_assert_eq!(t.from, before);
                        prop_assert_eq!(t.to, to);
                        prop_assert!(by.acts_as(t.by));
                        current = to;
                    }
                    Err(TransitionError::NotAllowed { allowed, .. }) => {
                        prop_assert!(!allowed.contains(&to));
                        prop_assert_eq!(allowed, before.targets().to_vec());
                    }
                    Err(TransitionError::NotResponsible { required, .. }) => prop_assert!(!by.acts_as(required)),
                }
                prop_assert!((rank(current) - rank(before)).abs() <= 1, "{} → {}", before, current);
                if before == Archived {
                    prop_assert_eq!(current, Archived);
                }
                if current == Archived && before != Archived {
                    prop_assert_eq!(before, Billed);
                }
                // Forward moves go exactly to `next()`; backward moves are the two corrections.
                if rank(current) > rank(before) {
                    prop_assert_eq!(before.next(), Some(current));
                } else if rank(current) < rank(before) {
                    prop_assert!(matches!((before, current), (LeadDone, Open) | (ManagerDone, LeadDone)));
                }
            }
        }

        #[test]
        fn the_allowed_list_is_exactly_what_would_succeed(from in status(), by in who()) {
            let allowed = allowed_for(from, &by);
            for to in ProjectStatus::ALL {
                prop_assert_eq!(allowed.contains(to), transition(from, *to, &by).is_ok());
            }
        }

        #[test]
        fn exceeded_agrees_with_exact_minutes(est_cents in 0i64..100_000, minutes in 0i64..1_000_000) {
            let e = Decimal::new(est_cents, 2);
            prop_assert_eq!(estimate_exceeded(Some(e), minutes), Decimal::from(minutes) > e * Decimal::from(60));
            let remaining = remaining_hours(Some(e), minutes).unwrap_or_default();
            prop_assert!(!remaining.is_sign_negative() || estimate_exceeded(Some(e), minutes), "{}", remaining);
        }
    }
}
