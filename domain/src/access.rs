//! Who may do what: employee roles and API-client scopes.

use crate::customer::str_enum;
use serde::{Deserialize, Serialize};

/// An employee's role. A user may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including user and API-client management.
    Admin,
    /// Project office: customers, rates, contracts, invoice runs, invoices.
    Billing,
    /// Projects, assignment, reports, approvals.
    Manager,
    /// Technician: tickets and own time bookings.
    Agent,
    /// Read-only.
    Viewer,
}

str_enum!(Role { Admin => "admin", Billing => "billing", Manager => "manager", Agent => "agent", Viewer => "viewer" });

/// A permission granted to an API client (helpdesk, accounting system).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "customers:read")]
    CustomersRead,
    #[serde(rename = "customers:write")]
    CustomersWrite,
    #[serde(rename = "tickets:read")]
    TicketsRead,
    #[serde(rename = "tickets:write")]
    TicketsWrite,
    #[serde(rename = "bookings:read")]
    BookingsRead,
    #[serde(rename = "bookings:write")]
    BookingsWrite,
    #[serde(rename = "invoices:read")]
    InvoicesRead,
    #[serde(rename = "invoices:export")]
    InvoicesExport,
}

str_enum!(Scope {
    CustomersRead => "customers:read",
    CustomersWrite => "customers:write",
    TicketsRead => "tickets:read",
    TicketsWrite => "tickets:write",
    BookingsRead => "bookings:read",
    BookingsWrite => "bookings:write",
    InvoicesRead => "invoices:read",
    InvoicesExport => "invoices:export",
});

/// Something a principal wants to do. Each permission says which roles and which
/// API-client scopes grant it; object-level rules (own bookings) come on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read customers and their contacts.
    ReadCustomers,
    /// Create, change, archive customers and their contacts.
    WriteCustomers,
    /// Manage employee accounts.
    ManageUsers,
    /// Create and revoke API clients.
    ManageApiClients,
    /// Read the audit log.
    ReadAuditLog,
    /// Read the service catalog, teams and custom-field definitions.
    ReadCatalog,
    /// Maintain the service catalog (billing office).
    WriteCatalog,
    /// Create teams and change their members.
    ManageTeams,
    /// Define custom fields of bookings and tickets.
    ManageCustomFields,
    /// Read projects, tasks and effort.
    ReadProjects,
    /// Create and change projects and tasks (status transitions have their own rules).
    WriteProjects,
    /// Read tickets and their timeline.
    ReadTickets,
    /// Create and change tickets, add timeline entries and documents.
    WriteTickets,
    /// Read time bookings and expenses.
    ReadBookings,
    /// Book time and expenses (agents: only their own).
    WriteBookings,
    /// Change anyone's bookings and expenses, not only one's own.
    WriteAllBookings,
    /// Set a rate override on a booking.
    OverrideRates,
    /// Read contracts, rates, surcharges and rounding rules (and explain rates).
    ReadBilling,
    /// Maintain contracts, rates, surcharges, rounding rules and holidays.
    ManageBilling,
    /// Read invoices, credit notes, invoice runs and proofs of service.
    ReadInvoices,
    /// Commit invoice runs; edit, delete, issue, cancel and mark invoices paid.
    ManageInvoices,
    /// Acknowledge the export of an invoice to accounting.
    ExportInvoices,
    /// Read the operational metrics on the API port (`GET /metrics` without a metrics bind).
    ReadMetrics,
    /// Register webhooks, read their delivery log, rotate their secrets.
    ManageWebhooks,
    /// Read the mail log (recipients, subjects and texts of every mail sent).
    ReadMailLog,
    /// Send reports by mail and send logged mails again.
    SendMail,
    /// Define the order types of periodic work orders (lead times, on-site flag).
    ManageOrderTypes,
    /// Maintain contracts' work-order schedules; generate, skip and reschedule work orders.
    PlanWorkOrders,
}

impl Permission {
    /// Whether an employee holding `roles` has this permission.
    pub fn granted_to_roles(self, roles: &[Role]) -> bool {
        let any = |wanted: &[Role]| roles.iter().any(|r| wanted.contains(r));
        match self {
            Permission::ReadCustomers => !roles.is_empty(),
            Permission::WriteCustomers => any(&[Role::Admin, Role::Billing, Role::Manager]),
            Permission::ManageUsers
            | Permission::ManageApiClients
            | Permission::ReadAuditLog
            | Permission::ManageCustomFields
            | Permission::ReadMetrics
            | Permission::ManageWebhooks
            | Permission::ManageOrderTypes => any(&[Role::Admin]),
            Permission::ReadCatalog | Permission::ReadProjects | Permission::ReadTickets | Permission::ReadBookings => {
                !roles.is_empty()
            }
            Permission::WriteCatalog | Permission::OverrideRates => any(&[Role::Admin, Role::Billing]),
            Permission::ManageTeams | Permission::WriteProjects => any(&[Role::Admin, Role::Manager]),
            Permission::WriteTickets | Permission::WriteBookings => {
                any(&[Role::Admin, Role::Billing, Role::Manager, Role::Agent])
            }
            Permission::WriteAllBookings => any(&[Role::Admin, Role::Billing, Role::Manager]),
            Permission::ReadBilling => any(&[Role::Admin, Role::Billing, Role::Manager]),
            Permission::ManageBilling | Permission::ManageInvoices | Permission::ExportInvoices => {
                any(&[Role::Admin, Role::Billing])
            }
            Permission::ReadInvoices => any(&[Role::Admin, Role::Billing, Role::Manager]),
            Permission::ReadMailLog | Permission::SendMail | Permission::PlanWorkOrders => {
                any(&[Role::Admin, Role::Billing, Role::Manager])
            }
        }
    }

    /// Whether an API client holding `scopes` has this permission. Administrative
    /// permissions are never granted to machines.
    pub fn granted_to_scopes(self, scopes: &[Scope]) -> bool {
        let any = |wanted: &[Scope]| scopes.iter().any(|s| wanted.contains(s));
        match self {
            // Helpdesks match tickets to customers; accounting systems read debtors.
            Permission::ReadCustomers => any(&[Scope::CustomersRead, Scope::CustomersWrite]),
            Permission::WriteCustomers => any(&[Scope::CustomersWrite]),
            // Integrations need the catalog to book against it.
            Permission::ReadCatalog => !scopes.is_empty(),
            Permission::ReadTickets => any(&[Scope::TicketsRead, Scope::TicketsWrite]),
            Permission::WriteTickets => any(&[Scope::TicketsWrite]),
            Permission::ReadBookings => any(&[Scope::BookingsRead, Scope::BookingsWrite]),
            // A helpdesk pushing time entries books them for the technicians it names.
            Permission::WriteBookings | Permission::WriteAllBookings => any(&[Scope::BookingsWrite]),
            // Accounting systems pull issued invoices and acknowledge their export.
            Permission::ReadInvoices => any(&[Scope::InvoicesRead, Scope::InvoicesExport]),
            Permission::ExportInvoices => any(&[Scope::InvoicesExport]),
            Permission::ManageUsers
            | Permission::ManageApiClients
            | Permission::ReadAuditLog
            | Permission::ManageCustomFields
            | Permission::WriteCatalog
            | Permission::ManageTeams
            | Permission::ReadProjects
            | Permission::WriteProjects
            | Permission::OverrideRates
            | Permission::ReadBilling
            | Permission::ManageBilling
            | Permission::ManageInvoices
            | Permission::ReadMetrics
            | Permission::ManageWebhooks
            | Permission::ReadMailLog
            | Permission::SendMail
            | Permission::ManageOrderTypes
            | Permission::PlanWorkOrders => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_office_and_managers_maintain_customers_but_agents_and_viewers_do_not() {
        let w = Permission::WriteCustomers;
        assert!(w.granted_to_roles(&[Role::Billing]));
        assert!(w.granted_to_roles(&[Role::Manager]));
        assert!(w.granted_to_roles(&[Role::Admin]));
        assert!(!w.granted_to_roles(&[Role::Agent]));
        assert!(!w.granted_to_roles(&[Role::Viewer]));
        assert!(!w.granted_to_roles(&[]));
        assert!(Permission::ReadCustomers.granted_to_roles(&[Role::Viewer]));
    }

    #[test]
    fn a_helpdesk_key_with_ticket_scopes_cannot_touch_customers_or_admin_functions() {
        let helpdesk = [Scope::TicketsWrite, Scope::TicketsRead];
        assert!(!Permission::ReadCustomers.granted_to_scopes(&helpdesk));
        assert!(!Permission::WriteCustomers.granted_to_scopes(&helpdesk));
        assert!(Permission::ReadCustomers.granted_to_scopes(&[Scope::CustomersWrite]));
        let everything: Vec<Scope> = Scope::ALL.to_vec();
        assert!(!Permission::ManageUsers.granted_to_scopes(&everything));
        assert!(!Permission::ManageApiClients.granted_to_scopes(&everything));
    }

    #[test]
    fn only_the_billing_office_issues_invoices_and_accounting_keys_only_read_and_acknowledge() {
        let m = Permission::ManageInvoices;
        assert!(m.granted_to_roles(&[Role::Billing]) && m.granted_to_roles(&[Role::Admin]));
        assert!(!m.granted_to_roles(&[Role::Manager]) && !m.granted_to_roles(&[Role::Agent]));
        assert!(Permission::ReadInvoices.granted_to_roles(&[Role::Manager]));
        assert!(!Permission::ReadInvoices.granted_to_roles(&[Role::Agent, Role::Viewer]));
        let accounting = [Scope::InvoicesRead];
        assert!(Permission::ReadInvoices.granted_to_scopes(&accounting));
        assert!(!Permission::ExportInvoices.granted_to_scopes(&accounting));
        assert!(Permission::ExportInvoices.granted_to_scopes(&[Scope::InvoicesExport]));
        assert!(Permission::ReadInvoices.granted_to_scopes(&[Scope::InvoicesExport]));
        assert!(!Permission::ManageInvoices.granted_to_scopes(Scope::ALL));
        assert!(!Permission::ReadInvoices.granted_to_scopes(&[Scope::TicketsWrite, Scope::BookingsWrite]));
    }

    #[test]
    fn scopes_use_resource_colon_action_names() {
        assert_eq!(Scope::InvoicesExport.as_str(), "invoices:export");
        assert_eq!("tickets:write".parse::<Scope>().unwrap(), Scope::TicketsWrite);
        assert!("tickets:delete".parse::<Scope>().is_err());
    }
}
