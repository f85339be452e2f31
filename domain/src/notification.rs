//! E-mail notifications: which project workflow steps are mailed, and the German and English
//! text of every notification. Pure: the persistence layer decides recipients from stored
//! data and records the rendered mail; the API sends it.

use crate::customer::str_enum;
use crate::project::ProjectStatus;
use crate::ticket::TicketStatus;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;

/// The language a person reads their mail in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// German (the default).
    #[default]
    De,
    /// English.
    En,
}

str_enum!(Language { De => "de", En => "en" });

impl Language {
    /// The German or the English text.
    pub fn pick<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Language::De => de,
            Language::En => en,
        }
    }
}

/// Whether a project status change is mailed to whoever is responsible next: the steps
/// forward to `lead_done` ("PL fertig" → project manager) and `manager_done` ("PM fertig"
/// → billing office), and the steps back for corrections (to the lead or the manager).
/// Billing and archiving are the billing office's own steps: nobody is waiting for them.
pub fn project_step_is_mailed(from: ProjectStatus, to: ProjectStatus) -> bool {
    use ProjectStatus::*;
    matches!((from, to), (Open, LeadDone) | (LeadDone, ManagerDone) | (LeadDone, Open) | (ManagerDone, LeadDone))
}

/// What a notification tells; rendered per recipient language by [`Notification::render`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// A project moved along its workflow (see [`project_step_is_mailed`]).
    ProjectStep { project: String, from: ProjectStatus, to: ProjectStatus, changed_by: String },
    /// The booked time of a project passed its estimate.
    EstimateExceeded { project: String, estimate_hours: Decimal, actual_hours: Decimal },
    /// A prepaid contract used a threshold share of its period's quota.
    QuotaThreshold {
        contract: String,
        customer: String,
        threshold_percent: u32,
        used: Decimal,
        available: Decimal,
        period_start: Date,
        period_end: Date,
    },
    /// A ticket's status changed; for the customer's contact, with the notes meant for them.
    TicketStatus { number: String, title: String, to: TicketStatus, notes: Vec<String> },
    /// An invoice was issued; for the customer's billing address.
    InvoiceIssued {
        number: String,
        seller: String,
        gross: Decimal,
        currency: String,
        due_date: Option<Date>,
        /// The file attached (`RE-2026-0001.pdf`); `None`: the mail is the summary.
        attachment: Option<String>,
    },
    /// A report sent by hand, with the sender's message.
    Report { title: String, message: Option<String>, sender: String, attachment: String },
}

/// A rendered mail: subject line and plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailText {
    pub subject: String,
    pub body: String,
}

impl Notification {
    /// `project_step`, `estimate_exceeded`, `quota_threshold`, `ticket_status`,
    /// `invoice_issued`, `report`.
    pub fn kind(&self) -> &'static str {
        match self {
            Notification::ProjectStep { .. } => "project_step",
            Notification::EstimateExceeded { .. } => "estimate_exceeded",
            Notification::QuotaThreshold { .. } => "quota_threshold",
            Notification::TicketStatus { .. } => "ticket_status",
            Notification::InvoiceIssued { .. } => "invoice_issued",
            Notification::Report { .. } => "report",
        }
    }

    /// Subject and body in `lang`.
    pub fn render(&self, lang: Language) -> MailText {
        let t = |de: &str, en: &str| lang.pick(de, en).to_string();
        let (subject, mut body) = match self {
            Notification::ProjectStep { project, from, to, changed_by } => {
                let back = matches!((from, to), (ProjectStatus::LeadDone, ProjectStatus::Open)
                    | (ProjectStatus::ManagerDone, ProjectStatus::LeadDone));
                let subject = if back {
                    format!("{} „{project}“: {}", t("Projekt", "Project"), t("zurück zur Korrektur", "returned for corrections"))
                } else if *to == ProjectStatus::LeadDone {
                    format!("{} „{project}“: {}", t("Projekt", "Project"), t("PL fertig – bitte prüfen", "lead done – please review"))
                } else {
                    format!("{} „{project}“: {}", t("Projekt", "Project"), t("PM fertig – bitte abrechnen", "manager done – ready for billing"))
                };
                let body = format!(
                    "{} „{project}“ {} {} {} „{}“ {} „{}“.\n\n{}",
                    t("Das Projekt", "Project"),
                    t("wurde von", "was moved by"),
                    changed_by,
                    t("von", "from"),
                    project_status(*from, lang),
                    t("auf", "to"),
                    project_status(*to, lang),
                    if back {
                        t("Bitte prüfen Sie die Anmerkungen und korrigieren Sie das Projekt.", "Please check the remarks and correct the project.")
                    } else if *to == ProjectStatus::LeadDone {
                        t("Sie sind als Projektmanager:in für die Prüfung zuständig (PM fertig).", "You are the project manager responsible for the review (manager done).")
                    } else {
                        t("Das Projekt kann jetzt abgerechnet werden.", "The project is ready to be billed.")
                    }
                );
                (subject, body)
            }
            Notification::EstimateExceeded { project, estimate_hours, actual_hours } => (
                format!("{} „{project}“: {}", t("Projekt", "Project"), t("Schätzung überschritten", "estimate exceeded")),
                format!(
                    "{} „{project}“ {} {} h {} {} h.\n\n{}",
                    t("Für das Projekt", "Project"),
                    t("sind", "has"),
                    number(*actual_hours, lang),
                    t("gebucht; geschätzt waren", "booked; the estimate was"),
                    number(*estimate_hours, lang),
                    t("Bitte klären Sie mit dem Kunden, wie es weitergeht.", "Please agree the next steps with the customer."),
                ),
            ),
            Notification::QuotaThreshold { contract, customer, threshold_percent, used, available, period_start, period_end } => (
                format!("{} {contract}: {threshold_percent} % {}", t("Vertrag", "Contract"), t("des Kontingents verbraucht", "of the quota used")),
                format!(
                    "{} {contract} ({customer}) {} {threshold_percent} % {} {period_start} – {period_end}: {} {} {} {}.",
                    t("Der Vertrag", "Contract"),
                    t("hat", "has used"),
                    t("des Kontingents im Zeitraum", "of its quota in the period"),
                    t("verbraucht", "used"),
                    number(*used, lang),
                    t("von", "of"),
                    number(*available, lang),
                ),
            ),
            Notification::TicketStatus { number, title, to, notes } => {
                let mut body = format!(
                    "{} {number} „{title}“ {}: {}.",
                    t("Ihr Ticket", "Your ticket"),
                    t("hat einen neuen Status", "has a new status"),
                    ticket_status(*to, lang)
                );
                if !notes.is_empty() {
                    body.push_str(&format!("\n\n{}\n", t("Neuigkeiten:", "News:")));
                    for n in notes {
                        body.push_str(&format!("\n{n}\n"));
                    }
                }
                (format!("{} {number}: {}", t("Ticket", "Ticket"), ticket_status(*to, lang)), body)
            }
            Notification::InvoiceIssued { number, seller, gross, currency, due_date, attachment } => {
                let mut body = format!(
                    "{} {number} {} {} {currency}",
                    t("anbei erhalten Sie unsere Rechnung", "please find our invoice"),
                    t("über", "for"),
                    amount(*gross, lang)
                );
                if let Some(due) = due_date {
                    body.push_str(&format!(", {} {due}", t("fällig am", "due on")));
                }
                body.push('.');
                if attachment.is_none() {
                    body.push_str(&format!(
                        "\n\n{}",
                        t("Das Rechnungsdokument erhalten Sie gesondert.", "The invoice document follows separately.")
                    ));
                }
                (format!("{} {number} – {seller}", t("Rechnung", "Invoice")), format!("{}\n\n{body}", t("Guten Tag,", "Hello,")))
            }
            Notification::Report { title, message, sender, attachment } => {
                let mut body = String::new();
                if let Some(m) = message {
                    body.push_str(m);
                    body.push_str("\n\n");
                }
                body.push_str(&format!("{} {attachment} ({} {sender}).", t("Im Anhang:", "Attached:"), t("gesendet von", "sent by")));
                (title.clone(), body)
            }
        };
        body.push_str(&format!(
            "\n\n-- \n{}\n",
            t("Diese Nachricht wurde von Kontor versandt.", "This message was sent by Kontor.")
        ));
        // A subject is one header line, whatever the names in it hold.
        let subject = subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        MailText { subject, body }
    }
}

/// A project status as the office calls it.
pub fn project_status(s: ProjectStatus, lang: Language) -> &'static str {
    use ProjectStatus::*;
    match s {
        Open => lang.pick("offen", "open"),
        LeadDone => lang.pick("PL fertig", "lead done"),
        ManagerDone => lang.pick("PM fertig", "manager done"),
        Billed => lang.pick("abgerechnet", "billed"),
        Archived => lang.pick("archiviert", "archived"),
    }
}

/// A ticket status as the customer reads it.
pub fn ticket_status(s: TicketStatus, lang: Language) -> &'static str {
    use TicketStatus::*;
    match s {
        New => lang.pick("neu", "new"),
        Open => lang.pick("angenommen", "accepted"),
        InProgress => lang.pick("in Bearbeitung", "in progress"),
        Waiting => lang.pick("wartet auf Rückmeldung", "waiting for a reply"),
        Resolved => lang.pick("gelöst", "resolved"),
        Closed => lang.pick("geschlossen", "closed"),
    }
}

/// A decimal as written in `lang`: `12,5` / `12.5`.
pub fn number(d: Decimal, lang: Language) -> String {
    let s = d.normalize().to_string();
    match lang {
        Language::De => s.replace('.', ","),
        Language::En => s,
    }
}

/// An amount with two places and thousands separated: `1.234,50` / `1,234.50`.
pub fn amount(d: Decimal, lang: Language) -> String {
    let fixed = format!("{:.2}", d.round_dp(2));
    let (sign, digits) = fixed.strip_prefix('-').map_or(("", fixed.as_str()), |r| ("-", r));
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    let (group, point) = match lang {
        Language::De => ('.', ','),
        Language::En => (',', '.'),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}{point}{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn lead_done_and_manager_done_and_corrections_are_mailed_billing_steps_are_not() {
        use ProjectStatus::*;
        assert!(project_step_is_mailed(Open, LeadDone));
        assert!(project_step_is_mailed(LeadDone, ManagerDone));
        assert!(project_step_is_mailed(LeadDone, Open));
        assert!(project_step_is_mailed(ManagerDone, LeadDone));
        assert!(!project_step_is_mailed(ManagerDone, Billed));
        assert!(!project_step_is_mailed(Billed, Archived));
    }

    #[test]
    fn pm_done_mail_tells_the_billing_office_in_german_and_english() {
        let n = Notification::ProjectStep {
            project: "Migration".into(),
            from: ProjectStatus::LeadDone,
            to: ProjectStatus::ManagerDone,
            changed_by: "Paula PM".into(),
        };
        let de = n.render(Language::De);
        assert_eq!(de.subject, "Projekt „Migration“: PM fertig – bitte abrechnen");
        assert!(de.body.contains("von „PL fertig“ auf „PM fertig“"), "{}", de.body);
        let en = n.render(Language::En);
        assert_eq!(en.subject, "Project „Migration“: manager done – ready for billing");
        assert!(en.body.contains("ready to be billed"));
    }

    #[test]
    fn a_step_back_asks_for_corrections() {
        let n = Notification::ProjectStep {
            project: "P".into(),
            from: ProjectStatus::ManagerDone,
            to: ProjectStatus::LeadDone,
            changed_by: "PM".into(),
        };
        assert!(n.render(Language::De).subject.contains("zurück zur Korrektur"));
        assert!(n.render(Language::En).subject.contains("returned for corrections"));
    }

    #[test]
    fn ticket_mail_names_the_status_and_the_notes_for_the_customer() {
        let n = Notification::TicketStatus {
            number: "T-2026-000001".into(),
            title: "Drucker".into(),
            to: TicketStatus::Resolved,
            notes: vec!["Toner getauscht.".into()],
        };
        let m = n.render(Language::De);
        assert_eq!(m.subject, "Ticket T-2026-000001: gelöst");
        assert!(m.body.contains("Toner getauscht."));
    }

    #[test]
    fn invoice_amounts_are_written_the_way_the_reader_writes_them() {
        assert_eq!(amount(dec("1234.5"), Language::De), "1.234,50");
        assert_eq!(amount(dec("1234567.891"), Language::En), "1,234,567.89");
        assert_eq!(amount(dec("-12"), Language::De), "-12,00");
        assert_eq!(number(dec("12.50"), Language::De), "12,5");
    }

    proptest! {
        #[test]
        fn every_notification_renders_a_one_line_subject_in_both_languages(
            title in "(.|\r|\n){0,40}", minutes in 0i64..100_000,
        ) {
            let n = Notification::EstimateExceeded {
                project: title.clone(),
                estimate_hours: Decimal::from(minutes) / Decimal::from(60),
                actual_hours: Decimal::from(minutes + 1),
            };
            for lang in Language::ALL {
                let m = n.render(*lang);
                prop_assert!(!m.subject.contains('\n'));
                prop_assert!(!m.subject.chars().any(char::is_control));
            }
        }

        #[test]
        fn amounts_keep_their_value(cents in -10_000_000_000i64..10_000_000_000) {
            let d = Decimal::new(cents, 2);
            let de = amount(d, Language::De).replace('.', "").replace(',', ".");
            prop_assert_eq!(de.parse::<Decimal>().unwrap(), d);
        }
    }
}
