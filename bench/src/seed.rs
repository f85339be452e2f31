//! The data every scenario needs, created through the HTTP API as a client would: the
//! admin's login, a service, a customer with tickets, a technician with bookings and an
//! API key with every scope.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// Tickets and bookings seeded before the scenarios (more than one list page).
pub const SEEDED: usize = 60;

/// All API-client scopes.
const ALL_SCOPES: [&str; 8] = [
    "customers:read",
    "customers:write",
    "tickets:read",
    "tickets:write",
    "bookings:read",
    "bookings:write",
    "invoices:read",
    "invoices:export",
];

/// What the scenarios use.
pub struct Seed {
    /// Access token of the bootstrap admin.
    pub admin_token: String,
    /// Access token of the technician.
    pub technician_token: String,
    pub technician_id: i64,
    /// A key with every scope.
    pub api_key: String,
    /// The ticket read by the single-ticket scenarios and booked on.
    pub ticket_id: i64,
    /// Every seeded ticket (`ticket_id` first).
    pub ticket_ids: Vec<i64>,
    pub service_id: i64,
}

/// A client of the server at `addr`.
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client { http: reqwest::Client::new(), base: format!("http://{addr}") }
    }

    /// POSTs `body` with `token` (JWT or API key) and returns status and JSON answer.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<(StatusCode, Value), String> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.map_err(|e| format!("POST {path}: {e}"))?;
        let status = res.status();
        let text = res.text().await.map_err(|e| format!("POST {path}: {e}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// POSTs and requires `expect`.
    async fn created(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        expect: StatusCode,
    ) -> Result<Value, String> {
        match self.post(path, token, body).await? {
            (s, v) if s == expect => Ok(v),
            (s, v) => Err(format!("POST {path}: expected {expect}, got {s}: {v}")),
        }
    }

    /// Logs in and returns the access token.
    async fn login(&self, email: &str, password: &str) -> Result<String, String> {
        let v = self
            .created("/api/v1/auth/login", None, &json!({"email": email, "password": password}), StatusCode::OK)
            .await?;
        v["access_token"].as_str().map(str::to_string).ok_or_else(|| format!("login answered {v}"))
    }
}

/// A booking as the technician sends it (today, 30 minutes on the ticket).
pub fn booking(seed: &Seed, with_user: bool) -> Value {
    let today = time::OffsetDateTime::now_utc().date();
    let mut b = json!({"work_date": today.to_string(), "duration_minutes": 30, "service_id": seed.service_id,
                       "ticket_id": seed.ticket_id, "description": "Bench: remote support"});
    if with_user {
        b["user_id"] = json!(seed.technician_id);
    }
    b
}

fn id(v: &Value, what: &str) -> Result<i64, String> {
    v["id"].as_i64().ok_or_else(|| format!("{what}: no id in {v}"))
}

/// Seeds the data through the API of the server at `addr`.
pub async fn seed(addr: SocketAddr) -> Result<Seed, String> {
    use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD};
    let c = Client::new(addr);
    let admin = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let a = Some(admin.as_str());
    let service = c
        .created(
            "/api/v1/services",
            a,
            &json!({"code": "BENCH", "name": "Remote support", "unit": "hour", "kind": "work",
                    "default_price": "96.00", "vat_rate": "19", "billable_by_default": true}),
            StatusCode::CREATED,
        )
        .await?;
    let customer = c.created("/api/v1/customers", a, &json!({"name": "Bench customer"}), StatusCode::CREATED).await?;
    let customer_id = id(&customer, "customer")?;
    let mut ticket_ids = Vec::with_capacity(SEEDED);
    for n in 0..SEEDED {
        let t = json!({"title": format!("Bench ticket {n}"), "customer_id": customer_id,
                       "description": "A printer on the second floor does not print."});
        let ticket = c.created("/api/v1/tickets", a, &t, StatusCode::CREATED).await?;
        ticket_ids.push(id(&ticket, "ticket")?);
    }
    let password = "bench-technician-password-1234";
    let technician = c
        .created(
            "/api/v1/users",
            a,
            &json!({"email": "technician@bench.example", "name": "Bench technician", "password": password,
                    "roles": ["agent"]}),
            StatusCode::CREATED,
        )
        .await?;
    let technician_token = c.login("technician@bench.example", password).await?;
    let key = c
        .created(
            "/api/v1/api-clients",
            a,
            &json!({"name": "Bench helpdesk", "scopes": ALL_SCOPES}),
            StatusCode::CREATED,
        )
        .await?;
    let seed = Seed {
        admin_token: admin.clone(),
        technician_id: id(&technician, "technician")?,
        technician_token,
        api_key: key["key"].as_str().ok_or_else(|| format!("API client answered {key}"))?.to_string(),
        ticket_id: ticket_ids[0],
        ticket_ids,
        service_id: id(&service, "service")?,
    };
    for _ in 0..SEEDED {
        c.created("/api/v1/bookings", Some(&seed.technician_token), &booking(&seed, false), StatusCode::CREATED)
            .await?;
    }
    Ok(seed)
}
