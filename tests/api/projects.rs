//! End-to-end tests: projects, their tasks, status workflow and effort (estimate vs. actual).

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;

/// The people of a project: lead (an agent), manager (a manager), billing office.
struct Crew {
    customer_id: i64,
    lead: (i64, String),
    manager: (i64, String),
    account_manager: (i64, String),
    billing: (i64, String),
}

async fn crew(app: &TestApp) -> Crew {
    let customer = app.create_customer(json!({"name": "Muster IT GmbH", "currency": "CHF"})).await;
    Crew {
        customer_id: customer["id"].as_i64().unwrap(),
        lead: app.user_with_roles(&["agent"]).await,
        manager: app.user_with_roles(&["manager"]).await,
        account_manager: app.user_with_roles(&["manager"]).await,
        billing: app.user_with_roles(&["billing"]).await,
    }
}

fn project_body(c: &Crew) -> Value {
    json!({
        "name": "Migration Exchange → M365",
        "description": "Move 40 mailboxes",
        "customer_id": c.customer_id,
        "project_manager_id": c.manager.0,
        "account_manager_id": c.account_manager.0,
        "project_lead_id": c.lead.0,
        "estimate_hours": "40",
        "budget": "4800.00"
    })
}

/// Creates a project as admin; panics unless 201.
pub(crate) async fn create_project(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/projects", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create project: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// All projects visible with this query (follows every page).
async fn all_projects(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/projects?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = app.get(&path, &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let page: Value = res.json().await.unwrap();
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|v| v["id"].as_i64().unwrap()).collect()
}

/// Events of the outbox with this query (admin).
async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    let res = app.get(&format!("/api/v1/events?limit=200&{query}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn set_status(app: &TestApp, id: &Value, token: &str, status: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/projects/{id}/status"), token, &json!({"status": status})).await
}

pub(crate) async fn expect_status(app: &TestApp, id: &Value, token: &str, status: &str) -> Value {
    let res = set_status(app, id, token, status).await;
    assert_eq!(res.status(), StatusCode::OK, "→ {status}: {}", res.text().await.unwrap_or_default());
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["status"], status);
    p
}

/// Runs SQL directly on the test database (to book time before bookings have an API).
async fn exec_sql(app: &TestApp, sql: &str) {
    use sqlx::Connection;
    match &app.db {
        TestDb::Sqlite { dir } => {
            let url = format!("sqlite://{}/kontor.db", dir.display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("connect sqlite");
            sqlx::raw_sql(sql).execute(&mut conn).await.expect("sql");
            conn.close().await.ok();
        }
        TestDb::Postgres { admin_url, name } => {
            let (base, query) = admin_url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((admin_url, None));
            let host = match base.rfind('/') {
                Some(i) if i > base.find("://").map(|s| s + 2).unwrap_or(0) => &base[..i],
                _ => base,
            };
            let url = match query {
                Some(q) => format!("{host}/{name}?{q}"),
                None => format!("{host}/{name}"),
            };
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect postgres");
            sqlx::raw_sql(sql).execute(&mut conn).await.expect("sql");
            conn.close().await.ok();
        }
    }
}

/// Books `minutes` of `user` on a project (and task) with a test service.
async fn book(app: &TestApp, project_id: i64, task_id: Option<i64>, user_id: i64, minutes: i64) {
    let ts = "'2026-01-05T10:00:00.000000Z'";
    exec_sql(
        app,
        &format!(
            "INSERT INTO services (code, name, unit, kind, vat_rate, billable_by_default, created_at, updated_at) \
             SELECT 'TEST', 'Test work', 'hour', 'work', '19', TRUE, {ts}, {ts} \
             WHERE NOT EXISTS (SELECT 1 FROM services WHERE code = 'TEST');\
             INSERT INTO bookings (user_id, work_date, duration_minutes, service_id, description, project_id, task_id, \
             billable, created_by, created_at, updated_at) \
             SELECT {user_id}, '2026-01-05', {minutes}, id, 'work', {project_id}, {task}, TRUE, 'test', {ts}, {ts} \
             FROM services WHERE code = 'TEST';",
            task = task_id.map(|t| t.to_string()).unwrap_or_else(|| "NULL".into()),
        ),
    )
    .await;
}

// ---- projects ----

#[tokio::test]
async fn creating_a_customer_project_returns_it_open_with_location_etag_and_the_customers_currency() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let res = app.post("/api/v1/projects", &c.manager.1, &project_body(&c)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let p: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/projects/{}", p["id"]));
    assert_eq!(etag, format!("\"project-{}-v1\"", p["id"]));
    assert_eq!(p["status"], "open");
    assert_eq!(p["internal"], false);
    assert_eq!(p["customer_id"], c.customer_id);
    assert_eq!(p["currency"], "CHF");
    assert_eq!(p["estimate_hours"], "40");
    assert_eq!(p["budget"], "4800.00");
    assert_eq!(p["project_lead_id"], c.lead.0);
    assert_eq!(p["project_manager_id"], c.manager.0);
    assert_eq!(p["account_manager_id"], c.account_manager.0);
    assert!(p["estimate_exceeded_at"].is_null());
    // The manager is not the lead: nothing for them to do while the project is open.
    assert_eq!(p["next_statuses"], json!([]));

    let res = app.get(&location, &c.lead.1).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["name"], "Migration Exchange → M365");
    assert_eq!(read["next_statuses"], json!(["lead_done"]), "the lead may declare it done");

    let internal = create_project(&app, json!({"name": "Internal IT", "internal": true})).await;
    assert_eq!(internal["internal"], true);
    assert!(internal["customer_id"].is_null());
    assert!(internal["currency"].is_null());
    assert!(internal["estimate_hours"].is_null());
    assert_eq!(app.audit_count(Some("project")).await, 2);
}

#[tokio::test]
async fn invalid_projects_get_per_field_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let archived = app.create_customer(json!({"name": "Old GmbH"})).await;
    let res = app.delete(&format!("/api/v1/customers/{}", archived["id"]), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (inactive, _) = app.user_with_roles(&["manager"]).await;
    let res = app.patch(&format!("/api/v1/users/{inactive}"), &app.admin_token, &json!({"active": false}), None).await;
    assert_eq!(res.status(), StatusCode::OK);

    let cid = c.customer_id;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"name": "X", "internal": true, "customer_id": cid}), vec!["customer_id"]),
        (json!({"name": "X"}), vec!["customer_id"]),
        (json!({"name": "X", "internal": false}), vec!["customer_id"]),
        (json!({"name": "X", "customer_id": 9999}), vec!["customer_id"]),
        (json!({"name": "X", "customer_id": archived["id"]}), vec!["customer_id"]),
        (json!({"name": "X", "customer_id": cid, "project_manager_id": 9999}), vec!["project_manager_id"]),
        (json!({"name": "X", "customer_id": cid, "account_manager_id": 9999}), vec!["account_manager_id"]),
        (json!({"name": "X", "customer_id": cid, "project_lead_id": inactive}), vec!["project_lead_id"]),
        (json!({"name": "X", "customer_id": cid, "estimate_hours": "-1"}), vec!["estimate_hours"]),
        (json!({"name": "X", "customer_id": cid, "budget": "-0.01"}), vec!["budget"]),
        (json!({"name": "X", "customer_id": cid, "budget": 4800.5}), vec!["budget"]),
        (json!({"name": "X", "customer_id": cid, "estimate_hours": 40}), vec!["estimate_hours"]),
        (json!({"name": "X", "customer_id": cid, "estimate_hours": "forty"}), vec!["estimate_hours"]),
        (json!({"name": "X", "customer_id": cid, "estimate_hours": "1000000.01"}), vec!["estimate_hours"]),
        (json!({"name": "X", "customer_id": cid, "estimate_hours": "1.255"}), vec!["estimate_hours"]),
        (
            json!({"name": "X", "customer_id": cid, "estimate_hours": "99999999999999999999999999999"}),
            vec!["estimate_hours"],
        ),
        (json!({"name": "X", "customer_id": cid, "budget": "99999999999999999999999999999"}), vec!["budget"]),
        (json!({"name": "X", "customer_id": cid, "budget": "1.00001"}), vec!["budget"]),
        (json!({"name": "", "customer_id": cid}), vec!["name"]),
        (json!({"customer_id": cid}), vec!["name"]),
        (json!({"name": "X", "customer_id": cid, "status": "billed"}), vec!["status"]),
        (
            json!({"name": "", "customer_id": 9999, "project_lead_id": 9999, "estimate_hours": "-5"}),
            vec!["customer_id", "estimate_hours", "name", "project_lead_id"],
        ),
    ];
    for (body, fields) in cases {
        let p = problem(app.post("/api/v1/projects", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(p["type"], "urn:kontor:problem:validation");
        assert_eq!(error_fields(&p), fields, "for {body}: {p}");
    }
    let p = problem(
        app.post("/api/v1/projects", &app.admin_token, &json!({"name": "X", "customer_id": 9999})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "unknown_reference");
    let p = problem(
        app.post("/api/v1/projects", &app.admin_token, &json!({"name": "X", "customer_id": archived["id"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "archived");

    assert!(all_projects(&app, "status=all").await.is_empty());
    assert_eq!(app.audit_count(Some("project")).await, 0);
}

#[tokio::test]
async fn unknown_projects_and_tasks_are_404() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/projects/999",
        "/api/v1/projects/abc",
        "/api/v1/projects/-1",
        "/api/v1/projects/999/tasks",
        "/api/v1/projects/999/effort",
        "/api/v1/projects/999/tasks/1",
    ] {
        problem(app.get(path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }
    problem(
        app.patch("/api/v1/projects/999", &app.admin_token, &json!({"name": "x"}), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(set_status(&app, &json!(999), &app.admin_token, "lead_done").await, StatusCode::NOT_FOUND).await;
    problem(
        app.post("/api/v1/projects/999/tasks", &app.admin_token, &json!({"name": "T"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let p = create_project(&app, json!({"name": "Internal", "internal": true})).await;
    let other = create_project(&app, json!({"name": "Other", "internal": true})).await;
    let res =
        app.post(&format!("/api/v1/projects/{}/tasks", other["id"]), &app.admin_token, &json!({"name": "T"})).await;
    let task: Value = res.json().await.unwrap();
    // A task is addressed through its own project only.
    let wrong = format!("/api/v1/projects/{}/tasks/{}", p["id"], task["id"]);
    problem(app.get(&wrong, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.patch(&wrong, &app.admin_token, &json!({"done": true}), None).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&wrong, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let still: Value = app
        .get(&format!("/api/v1/projects/{}/tasks/{}", other["id"], task["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["done"], false);
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_null_clears_and_a_stale_if_match_is_412() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let path = format!("/api/v1/projects/{}", p["id"]);
    let v1 = format!("\"project-{}-v1\"", p["id"]);
    let res = app
        .patch(
            &path,
            &c.manager.1,
            &json!({"name": "Migration M365", "description": null, "estimate_hours": "55.5", "account_manager_id": null}),
            Some(&v1),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), format!("\"project-{}-v2\"", p["id"]));
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["name"], "Migration M365");
    assert!(u["description"].is_null());
    assert!(u["account_manager_id"].is_null());
    assert_eq!(u["estimate_hours"], "55.5");
    assert_eq!(u["budget"], "4800.00");
    assert_eq!(u["project_lead_id"], c.lead.0);
    assert_eq!(u["version"], 2);

    // A stale ETag changes nothing.
    let p412 = problem(
        app.patch(&path, &c.manager.1, &json!({"name": "Lost update"}), Some(&v1)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(p412["type"], "urn:kontor:problem:precondition-failed");

    // Invalid changes get field errors and change nothing either.
    for (body, field) in [
        (json!({"internal": true}), "customer_id"),
        (json!({"customer_id": null}), "customer_id"),
        (json!({"customer_id": 9999}), "customer_id"),
        (json!({"project_lead_id": 9999}), "project_lead_id"),
        (json!({"budget": "-1"}), "budget"),
        (json!({"budget": 12}), "budget"),
        (json!({"status": "billed"}), "status"),
    ] {
        let e = problem(app.patch(&path, &c.manager.1, &body, None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&e), vec![field], "for {body}: {e}");
    }
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["version"], 2);
    assert_eq!(unchanged["name"], "Migration M365");

    // Turning it into an internal project clears the customer in the same request.
    let res = app.patch(&path, &c.manager.1, &json!({"internal": true, "customer_id": null}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["internal"], true);
    assert!(u["currency"].is_null());
}

#[tokio::test]
async fn the_customer_of_a_project_with_booked_time_cannot_change() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    book(&app, p["id"].as_i64().unwrap(), None, c.lead.0, 30).await;
    let other = app.create_customer(json!({"name": "Andere GmbH"})).await;
    let path = format!("/api/v1/projects/{}", p["id"]);
    problem(app.patch(&path, &c.manager.1, &json!({"customer_id": other["id"]}), None).await, StatusCode::CONFLICT)
        .await;
    problem(
        app.patch(&path, &c.manager.1, &json!({"internal": true, "customer_id": null}), None).await,
        StatusCode::CONFLICT,
    )
    .await;
    let res = app.patch(&path, &c.manager.1, &json!({"estimate_hours": "50"}), None).await;
    assert_eq!(res.status(), StatusCode::OK, "other fields still change");
}

#[tokio::test]
async fn search_and_filters_narrow_the_list_and_pages_cover_every_project_once() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let other = app.create_customer(json!({"name": "Andere GmbH"})).await;
    let mut all = HashSet::new();
    for i in 0..7 {
        let p = create_project(
            &app,
            json!({"name": format!("Rollout {i}"), "customer_id": c.customer_id, "project_lead_id": c.lead.0}),
        )
        .await;
        all.insert(p["id"].as_i64().unwrap());
    }
    let managed = create_project(
        &app,
        json!({"name": "Firewall 100%_done", "customer_id": other["id"], "project_manager_id": c.manager.0,
               "account_manager_id": c.account_manager.0}),
    )
    .await;
    let internal = create_project(&app, json!({"name": "Internal tooling", "internal": true})).await;
    all.insert(managed["id"].as_i64().unwrap());
    all.insert(internal["id"].as_i64().unwrap());

    for limit in [1, 2, 4, 9, 200] {
        let seen = ids(&all_projects(&app, &format!("limit={limit}")).await);
        assert_eq!(seen.len(), 9, "limit={limit}");
        assert_eq!(seen.iter().copied().collect::<HashSet<_>>(), all);
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "id order");
    }
    assert_eq!(ids(&all_projects(&app, "internal=true").await), vec![id_of(&internal)]);
    assert_eq!(all_projects(&app, "internal=false").await.len(), 8);
    assert_eq!(all_projects(&app, &format!("customer_id={}", c.customer_id)).await.len(), 7);
    assert_eq!(all_projects(&app, &format!("project_lead_id={}", c.lead.0)).await.len(), 7);
    assert_eq!(ids(&all_projects(&app, &format!("project_manager_id={}", c.manager.0)).await), vec![id_of(&managed)]);
    assert_eq!(
        ids(&all_projects(&app, &format!("account_manager_id={}", c.account_manager.0)).await),
        vec![id_of(&managed)]
    );
    assert_eq!(all_projects(&app, "q=ROLLOUT").await.len(), 7);
    // LIKE wildcards in the search are taken literally.
    assert_eq!(ids(&all_projects(&app, "q=100%25_").await), vec![id_of(&managed)]);
    assert!(all_projects(&app, "q=%25x%25").await.is_empty());
    assert_eq!(all_projects(&app, "status=open").await.len(), 9);
    assert!(all_projects(&app, "status=billed").await.is_empty());

    for query in
        ["status=done", "limit=0", "limit=201", "cursor=nonsense", "internal=maybe", "customer_id=x", "colour=red"]
    {
        let p = problem(
            app.get(&format!("/api/v1/projects?{query}"), &app.admin_token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(!error_fields(&p).is_empty(), "{query}: {p}");
    }
}

#[tokio::test]
async fn the_same_idempotency_key_creates_a_project_only_once() {
    let app = spawn_app().await;
    let send = |body: Value| {
        let app = &app;
        async move {
            app.request(Method::POST, "/api/v1/projects", Some(&app.admin_token))
                .header("idempotency-key", "project-1")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send(json!({"name": "Internal", "internal": true})).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body: Value = first.json().await.unwrap();
    let replay = send(json!({"name": "Internal", "internal": true})).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), first_body);
    problem(send(json!({"name": "Other", "internal": true})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(all_projects(&app, "").await.len(), 1);
}

// ---- workflow ----

#[tokio::test]
async fn lead_manager_and_billing_office_walk_the_project_to_the_archive_and_each_step_notifies_the_next() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let id = &p["id"];

    let after = expect_status(&app, id, &c.lead.1, "lead_done").await;
    assert_eq!(after["version"], 2);
    assert_eq!(after["next_statuses"], json!(["open"]), "the lead may still take it back");
    let after = expect_status(&app, id, &c.manager.1, "manager_done").await;
    assert_eq!(after["next_statuses"], json!(["lead_done"]));
    let after = expect_status(&app, id, &c.billing.1, "billed").await;
    assert_eq!(after["next_statuses"], json!(["archived"]));
    let after = expect_status(&app, id, &c.billing.1, "archived").await;
    assert_eq!(after["next_statuses"], json!([]));
    assert_eq!(after["version"], 5);

    let evs = events(&app, &format!("type=project.status_changed&entity_type=project&entity_id={id}")).await;
    let steps: Vec<(String, String, Value)> = evs
        .iter()
        .map(|e| {
            (
                e["payload"]["status_change"]["from"].as_str().unwrap().to_string(),
                e["payload"]["status_change"]["to"].as_str().unwrap().to_string(),
                e["payload"]["status_change"]["notify_user_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("open".into(), "lead_done".into(), json!(c.manager.0)),
            ("lead_done".into(), "manager_done".into(), Value::Null),
            ("manager_done".into(), "billed".into(), Value::Null),
            ("billed".into(), "archived".into(), Value::Null),
        ]
    );
    assert_eq!(evs[0]["type"], "project.status_changed");
    assert_eq!(evs[0]["entity_type"], "project");
    assert_eq!(evs[0]["payload"]["status_change"]["notify"], "project_manager");
    assert_eq!(evs[1]["payload"]["status_change"]["notify"], "billing_office");
    assert!(evs[3]["payload"]["status_change"]["notify"].is_null());
    // The data is the project after the change, as `GET /projects/{id}` showed it.
    assert_eq!(
        (evs[0]["payload"]["id"].clone(), evs[0]["payload"]["status"].clone()),
        (id.clone(), json!("lead_done"))
    );
    assert_eq!(evs[3]["payload"]["status"], "archived");
    assert_eq!(evs[3]["payload"]["version"], 5);
    assert_eq!(evs[3]["payload"]["next_statuses"], json!([]));
    // `delivered_at`: set once the webhook dispatcher has handed the event on (it runs on its
    // own schedule, so either state is fine here).
    assert!(evs[0]["delivered_at"].is_null() || evs[0]["delivered_at"].is_string());

    // Every step is in the audit log with before and after.
    let log: Value = app
        .get(&format!("/api/v1/audit-log?entity_type=project&entity_id={id}"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let entries = log["items"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0]["action"], "status_change");
    assert_eq!(entries[0]["before"]["status"], "billed");
    assert_eq!(entries[0]["after"]["status"], "archived");
    assert_eq!(entries[4]["action"], "create");
}

#[tokio::test]
async fn only_the_responsible_person_may_take_a_step_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let id = &p["id"];
    let (_, viewer) = app.user_with_roles(&["viewer"]).await;
    let (_, other_manager) = app.user_with_roles(&["manager"]).await;
    let (_, other_agent) = app.user_with_roles(&["agent"]).await;

    for token in [&c.manager.1, &c.billing.1, &viewer, &other_agent, &c.account_manager.1] {
        let e = problem(set_status(&app, id, token, "lead_done").await, StatusCode::FORBIDDEN).await;
        assert_eq!(e["type"], "urn:kontor:problem:forbidden");
    }
    expect_status(&app, id, &c.lead.1, "lead_done").await;
    // Another manager is not *this* project's manager; the lead cannot approve their own work.
    for token in [&other_manager, &c.lead.1, &c.billing.1] {
        problem(set_status(&app, id, token, "manager_done").await, StatusCode::FORBIDDEN).await;
    }
    // Reopening is the lead's correction or this project's manager's return, nobody else's.
    for token in [&other_manager, &c.billing.1, &other_agent] {
        problem(set_status(&app, id, token, "open").await, StatusCode::FORBIDDEN).await;
    }
    expect_status(&app, id, &c.manager.1, "manager_done").await;
    for token in [&c.manager.1, &c.lead.1, &viewer] {
        problem(set_status(&app, id, token, "billed").await, StatusCode::FORBIDDEN).await;
    }
    // API clients have no project access at all.
    let (_, key) = app.api_key(&["tickets:write", "bookings:write"]).await;
    problem(set_status(&app, id, &key, "billed").await, StatusCode::FORBIDDEN).await;

    let now: Value = app.get(&format!("/api/v1/projects/{id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["status"], "manager_done");
    assert_eq!(now["version"], 3);
    assert_eq!(events(&app, "type=project.status_changed").await.len(), 2);
}

#[tokio::test]
async fn skipping_or_repeating_a_step_is_409_with_the_allowed_next_statuses() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let id = &p["id"];
    let e = problem(set_status(&app, id, &app.admin_token, "billed").await, StatusCode::CONFLICT).await;
    assert_eq!(e["type"], "urn:kontor:problem:invalid-transition");
    assert_eq!(e["allowed"], json!(["lead_done"]));
    let e = problem(set_status(&app, id, &c.manager.1, "manager_done").await, StatusCode::CONFLICT).await;
    assert_eq!(e["allowed"], json!(["lead_done"]));
    let e = problem(set_status(&app, id, &c.lead.1, "open").await, StatusCode::CONFLICT).await;
    assert_eq!(e["allowed"], json!(["lead_done"]));

    expect_status(&app, id, &c.lead.1, "lead_done").await;
    let e = problem(set_status(&app, id, &c.lead.1, "lead_done").await, StatusCode::CONFLICT).await;
    assert_eq!(e["allowed"], json!(["manager_done", "open"]));
    let e = problem(set_status(&app, id, &app.admin_token, "archived").await, StatusCode::CONFLICT).await;
    assert_eq!(e["allowed"], json!(["manager_done", "open"]));

    for body in [json!({"status": "done"}), json!({}), json!({"status": "billed", "note": "x"})] {
        problem(
            app.post(&format!("/api/v1/projects/{id}/status"), &app.admin_token, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let now: Value = app.get(&format!("/api/v1/projects/{id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["status"], "lead_done");
    assert_eq!(events(&app, "type=project.status_changed").await.len(), 1);
}

#[tokio::test]
async fn corrections_go_back_one_step_and_notify_whoever_is_responsible_again() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let id = &p["id"];
    expect_status(&app, id, &c.lead.1, "lead_done").await;
    expect_status(&app, id, &c.lead.1, "open").await;
    expect_status(&app, id, &c.lead.1, "lead_done").await;
    expect_status(&app, id, &c.manager.1, "manager_done").await;
    expect_status(&app, id, &c.manager.1, "lead_done").await;
    // An admin may stand in for anyone.
    expect_status(&app, id, &app.admin_token, "manager_done").await;

    let evs = events(&app, &format!("entity_type=project&entity_id={id}")).await;
    let reopened = &evs[1]["payload"]["status_change"];
    assert_eq!((reopened["from"].as_str(), reopened["to"].as_str()), (Some("lead_done"), Some("open")));
    assert_eq!(reopened["notify"], "project_lead");
    assert_eq!(reopened["notify_user_id"], c.lead.0);
    let withdrawn = &evs[4]["payload"]["status_change"];
    assert_eq!(withdrawn["to"], "lead_done");
    assert_eq!(withdrawn["notify_user_id"], c.manager.0);
    assert_eq!(evs[5]["payload"]["status_change"]["changed_by"], ADMIN_EMAIL);
}

#[tokio::test]
async fn a_stale_if_match_on_a_status_change_is_412() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let id = &p["id"];
    let tag = format!("\"project-{id}-v1\"");
    app.patch(&format!("/api/v1/projects/{id}"), &app.admin_token, &json!({"name": "Renamed"}), None).await;
    let res = app
        .request(Method::POST, &format!("/api/v1/projects/{id}/status"), Some(&c.lead.1))
        .header("if-match", &tag)
        .json(&json!({"status": "lead_done"}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::PRECONDITION_FAILED).await;
    let res = app
        .request(Method::POST, &format!("/api/v1/projects/{id}/status"), Some(&c.lead.1))
        .header("if-match", format!("\"project-{id}-v2\""))
        .json(&json!({"status": "lead_done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn archived_projects_are_read_only_hidden_from_default_lists_and_still_readable() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let keep = create_project(&app, json!({"name": "Running", "internal": true})).await;
    let id = &p["id"];
    let task: Value = app
        .post(&format!("/api/v1/projects/{id}/tasks"), &app.admin_token, &json!({"name": "Cutover"}))
        .await
        .json()
        .await
        .unwrap();
    for status in ["lead_done", "manager_done", "billed", "archived"] {
        expect_status(&app, id, &app.admin_token, status).await;
    }
    let path = format!("/api/v1/projects/{id}");
    let e = problem(app.patch(&path, &app.admin_token, &json!({"name": "Changed"}), None).await, StatusCode::CONFLICT)
        .await;
    assert!(e["detail"].as_str().unwrap().contains("archived"), "{e}");
    problem(app.post(&format!("{path}/tasks"), &app.admin_token, &json!({"name": "More"})).await, StatusCode::CONFLICT)
        .await;
    let task_path = format!("{path}/tasks/{}", task["id"]);
    problem(app.patch(&task_path, &app.admin_token, &json!({"done": true}), None).await, StatusCode::CONFLICT).await;
    problem(app.delete(&task_path, &app.admin_token).await, StatusCode::CONFLICT).await;
    let e = problem(set_status(&app, id, &app.admin_token, "billed").await, StatusCode::CONFLICT).await;
    assert_eq!(e["type"], "urn:kontor:problem:invalid-transition");
    assert!(e["allowed"].as_array().is_none_or(|a| a.is_empty()), "{e}");

    assert_eq!(ids(&all_projects(&app, "").await), vec![id_of(&keep)]);
    assert_eq!(ids(&all_projects(&app, "status=current").await), vec![id_of(&keep)]);
    assert_eq!(ids(&all_projects(&app, "status=archived").await), vec![id_of(&p)]);
    assert_eq!(all_projects(&app, "status=all").await.len(), 2);
    let read: Value = app.get(&path, &c.lead.1).await.json().await.unwrap();
    assert_eq!(read["name"], "Migration Exchange → M365");
    assert_eq!(read["status"], "archived");
    let effort = app.get(&format!("{path}/effort"), &c.lead.1).await;
    assert_eq!(effort.status(), StatusCode::OK, "still reportable");
    let tasks: Value = app.get(&format!("{path}/tasks"), &c.lead.1).await.json().await.unwrap();
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1);
}

// ---- tasks ----

#[tokio::test]
async fn tasks_are_created_listed_changed_and_deleted_with_etags() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let base = format!("/api/v1/projects/{}/tasks", p["id"]);
    let res = app
        .post(
            &base,
            &c.manager.1,
            &json!({"name": "Migrate mailboxes", "assignee_id": c.lead.0, "estimate_hours": "8", "notes": "Weekend only"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let t: Value = res.json().await.unwrap();
    assert_eq!(location, format!("{base}/{}", t["id"]));
    assert_eq!(t["project_id"], p["id"]);
    assert_eq!(t["assignee_id"], c.lead.0);
    assert_eq!(t["estimate_hours"], "8");
    assert_eq!(t["done"], false);
    let second: Value = app.post(&base, &c.manager.1, &json!({"name": "Decommission"})).await.json().await.unwrap();

    let res = app.get(&location, &c.lead.1).await;
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(tag, format!("\"project_task-{}-v1\"", t["id"]));
    let list: Value = app.get(&base, &c.lead.1).await.json().await.unwrap();
    assert_eq!(ids(list["items"].as_array().unwrap()), vec![t["id"].as_i64().unwrap(), second["id"].as_i64().unwrap()]);
    let mine: Value = app.get(&format!("{base}?assignee_id={}", c.lead.0), &c.lead.1).await.json().await.unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    let res = app.patch(&location, &c.manager.1, &json!({"done": true, "notes": null}), Some(&tag)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["done"], true);
    assert!(u["notes"].is_null());
    assert_eq!(u["estimate_hours"], "8");
    assert_eq!(u["version"], 2);
    problem(
        app.patch(&location, &c.manager.1, &json!({"name": "Stale"}), Some(&tag)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let open: Value = app.get(&format!("{base}?done=false"), &c.lead.1).await.json().await.unwrap();
    assert_eq!(ids(open["items"].as_array().unwrap()), vec![second["id"].as_i64().unwrap()]);

    let res = app.delete(&location, &c.manager.1).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(app.get(&location, &c.lead.1).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&location, &c.manager.1).await, StatusCode::NOT_FOUND).await;

    let log: Value = app
        .get(&format!("/api/v1/audit-log?entity_type=project_task&entity_id={}", t["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["delete", "update", "create"]);
}

#[tokio::test]
async fn invalid_tasks_get_per_field_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let base = format!("/api/v1/projects/{}/tasks", p["id"]);
    for (body, fields) in [
        (json!({"name": ""}), vec!["name"]),
        (json!({}), vec!["name"]),
        (json!({"name": "T", "assignee_id": 9999}), vec!["assignee_id"]),
        (json!({"name": "T", "estimate_hours": "-2"}), vec!["estimate_hours"]),
        (json!({"name": "T", "estimate_hours": 2.5}), vec!["estimate_hours"]),
        (json!({"name": "T", "done": "yes"}), vec!["done"]),
        (json!({"name": "T", "project_id": 1}), vec!["project_id"]),
    ] {
        let e = problem(app.post(&base, &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&e), fields, "for {body}: {e}");
    }
    let list: Value = app.get(&base, &app.admin_token).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    assert_eq!(app.audit_count(Some("project_task")).await, 0);

    let t: Value = app.post(&base, &app.admin_token, &json!({"name": "T"})).await.json().await.unwrap();
    let e = problem(
        app.patch(&format!("{base}/{}", t["id"]), &app.admin_token, &json!({"assignee_id": 9999}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&e), vec!["assignee_id"]);
}

#[tokio::test]
async fn a_task_with_booked_time_cannot_be_deleted() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let base = format!("/api/v1/projects/{}/tasks", p["id"]);
    let t: Value = app.post(&base, &app.admin_token, &json!({"name": "Booked"})).await.json().await.unwrap();
    book(&app, p["id"].as_i64().unwrap(), t["id"].as_i64(), c.lead.0, 45).await;
    let e = problem(app.delete(&format!("{base}/{}", t["id"]), &app.admin_token).await, StatusCode::CONFLICT).await;
    assert!(e["detail"].as_str().unwrap().contains("done"), "{e}");
    assert_eq!(app.get(&format!("{base}/{}", t["id"]), &app.admin_token).await.status(), StatusCode::OK);
}

// ---- effort ----

#[tokio::test]
async fn effort_without_bookings_is_zero_and_lists_every_task_with_its_estimate() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let base = format!("/api/v1/projects/{}", p["id"]);
    app.post(&format!("{base}/tasks"), &app.admin_token, &json!({"name": "A", "estimate_hours": "8"})).await;
    app.post(&format!("{base}/tasks"), &app.admin_token, &json!({"name": "B"})).await;
    let res = app.get(&format!("{base}/effort"), &c.lead.1).await;
    assert_eq!(res.status(), StatusCode::OK);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["project_id"], p["id"]);
    assert_eq!(e["estimate_hours"], "40");
    assert_eq!(e["actual_minutes"], 0);
    assert_eq!(e["actual_hours"], "0.00");
    assert_eq!(e["remaining_hours"], "40.00");
    assert_eq!(e["percent_used"], "0.0");
    assert_eq!(e["exceeded"], false);
    assert_eq!(e["unassigned_minutes"], 0);
    let tasks = e["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["name"], "A");
    assert_eq!(tasks[0]["estimate_hours"], "8");
    assert_eq!(tasks[0]["actual_hours"], "0.00");
    assert_eq!(tasks[0]["exceeded"], false);
    assert!(tasks[1]["estimate_hours"].is_null());
    assert!(tasks[1]["remaining_hours"].is_null());
    assert!(e["users"].as_array().unwrap().is_empty());

    let internal = create_project(&app, json!({"name": "No estimate", "internal": true})).await;
    let e: Value =
        app.get(&format!("/api/v1/projects/{}/effort", internal["id"]), &app.admin_token).await.json().await.unwrap();
    assert!(e["estimate_hours"].is_null());
    assert!(e["remaining_hours"].is_null());
    assert!(e["percent_used"].is_null());
    assert_eq!(e["exceeded"], false);
}

#[tokio::test]
async fn effort_sums_booked_time_per_task_and_person_and_shows_when_the_estimate_is_exceeded() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let mut body = project_body(&c);
    body["estimate_hours"] = json!("2");
    let p = create_project(&app, body).await;
    let pid = p["id"].as_i64().unwrap();
    let base = format!("/api/v1/projects/{pid}");
    let a: Value = app
        .post(&format!("{base}/tasks"), &app.admin_token, &json!({"name": "A", "estimate_hours": "1"}))
        .await
        .json()
        .await
        .unwrap();
    let b: Value =
        app.post(&format!("{base}/tasks"), &app.admin_token, &json!({"name": "B"})).await.json().await.unwrap();
    let other = create_project(&app, json!({"name": "Other", "internal": true})).await;
    book(&app, pid, a["id"].as_i64(), c.lead.0, 50).await;
    book(&app, pid, a["id"].as_i64(), c.manager.0, 20).await;
    book(&app, pid, None, c.lead.0, 45).await;
    book(&app, other["id"].as_i64().unwrap(), None, c.lead.0, 600).await;

    let e: Value = app.get(&format!("{base}/effort"), &c.lead.1).await.json().await.unwrap();
    assert_eq!(e["actual_minutes"], 115);
    assert_eq!(e["actual_hours"], "1.92");
    assert_eq!(e["remaining_hours"], "0.08");
    assert_eq!(e["exceeded"], false);
    assert_eq!(e["unassigned_minutes"], 45);
    assert_eq!(e["unassigned_hours"], "0.75");
    let tasks = e["tasks"].as_array().unwrap();
    assert_eq!(tasks[0]["task_id"], a["id"]);
    assert_eq!(tasks[0]["actual_minutes"], 70);
    assert_eq!(tasks[0]["actual_hours"], "1.17");
    assert_eq!(tasks[0]["remaining_hours"], "-0.17");
    assert_eq!(tasks[0]["exceeded"], true, "task A passed its own estimate");
    assert_eq!(tasks[1]["task_id"], b["id"]);
    assert_eq!(tasks[1]["actual_minutes"], 0);
    let users = e["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    let lead = users.iter().find(|u| u["user_id"] == c.lead.0).unwrap();
    assert_eq!(lead["actual_minutes"], 95);
    assert_eq!(lead["name"], "Test User");
    let manager = users.iter().find(|u| u["user_id"] == c.manager.0).unwrap();
    assert_eq!(manager["actual_minutes"], 20);

    // Five more minutes pass the two-hour estimate.
    book(&app, pid, a["id"].as_i64(), c.lead.0, 6).await;
    let e: Value = app.get(&format!("{base}/effort"), &c.lead.1).await.json().await.unwrap();
    assert_eq!(e["actual_minutes"], 121);
    assert_eq!(e["exceeded"], true);
    assert_eq!(e["remaining_hours"], "-0.02");
    assert_eq!(e["percent_used"], "100.8");
}

// ---- access ----

#[tokio::test]
async fn viewers_and_agents_read_projects_managers_and_admins_change_them() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let path = format!("/api/v1/projects/{}", p["id"]);
    let task: Value =
        app.post(&format!("{path}/tasks"), &app.admin_token, &json!({"name": "T"})).await.json().await.unwrap();
    let task_path = format!("{path}/tasks/{}", task["id"]);
    let (_, viewer) = app.user_with_roles(&["viewer"]).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;

    for token in [&viewer, &agent, &c.billing.1] {
        for read in [
            "/api/v1/projects".to_string(),
            path.clone(),
            format!("{path}/tasks"),
            task_path.clone(),
            format!("{path}/effort"),
        ] {
            assert_eq!(app.get(&read, token).await.status(), StatusCode::OK, "{read}");
        }
        problem(app.post("/api/v1/projects", token, &project_body(&c)).await, StatusCode::FORBIDDEN).await;
        problem(app.patch(&path, token, &json!({"name": "x"}), None).await, StatusCode::FORBIDDEN).await;
        problem(app.post(&format!("{path}/tasks"), token, &json!({"name": "x"})).await, StatusCode::FORBIDDEN).await;
        problem(app.patch(&task_path, token, &json!({"done": true}), None).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&task_path, token).await, StatusCode::FORBIDDEN).await;
        problem(app.get("/api/v1/events", token).await, StatusCode::FORBIDDEN).await;
    }
    // Any manager (not only this project's) maintains projects and tasks.
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    assert_eq!(app.post("/api/v1/projects", &manager, &project_body(&c)).await.status(), StatusCode::CREATED);
    assert_eq!(app.patch(&task_path, &manager, &json!({"done": true}), None).await.status(), StatusCode::OK);
    problem(app.get("/api/v1/events", &manager).await, StatusCode::FORBIDDEN).await;

    let (_, key) = app.api_key(&["customers:write", "tickets:write", "bookings:write"]).await;
    problem(app.get("/api/v1/projects", &key).await, StatusCode::FORBIDDEN).await;
    problem(app.get("/api/v1/events", &key).await, StatusCode::FORBIDDEN).await;
    problem(app.request(Method::GET, "/api/v1/projects", None).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;

    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["version"], 1);
}

#[tokio::test]
async fn events_are_filtered_and_paginated_in_order() {
    let app = spawn_app().await;
    let a = create_project(&app, json!({"name": "A", "internal": true})).await;
    let b = create_project(&app, json!({"name": "B", "internal": true})).await;
    for p in [&a, &b] {
        expect_status(&app, &p["id"], &app.admin_token, "lead_done").await;
        expect_status(&app, &p["id"], &app.admin_token, "open").await;
    }
    assert_eq!(events(&app, "").await.len(), 4);
    assert_eq!(events(&app, "entity_type=project").await.len(), 4);
    assert_eq!(events(&app, &format!("entity_type=project&entity_id={}", b["id"])).await.len(), 2);
    assert!(events(&app, "type=project.estimate_exceeded").await.is_empty());
    let page1: Value = app.get("/api/v1/events?limit=3", &app.admin_token).await.json().await.unwrap();
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value =
        app.get(&format!("/api/v1/events?limit=3&cursor={cursor}"), &app.admin_token).await.json().await.unwrap();
    let all: Vec<i64> =
        ids(page1["items"].as_array().unwrap()).into_iter().chain(ids(page2["items"].as_array().unwrap())).collect();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert!(page2["next_cursor"].is_null());
    problem(app.get("/api/v1/events?entity_id=abc", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn concurrent_clicks_on_the_same_step_change_the_status_once() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let p = create_project(&app, project_body(&c)).await;
    let id = &p["id"];
    let attempts = (0..6).map(|_| set_status(&app, id, &c.lead.1, "lead_done"));
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(attempts).await.into_iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{statuses:?}");
    assert_eq!(events(&app, "type=project.status_changed").await.len(), 1);
    let now: Value = app.get(&format!("/api/v1/projects/{id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["version"], 2);
}
