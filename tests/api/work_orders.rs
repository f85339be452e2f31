//! End-to-end tests: periodic work orders — order types, schedules on contracts, and the
//! generator (on demand and in the background), exactly once per occurrence.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::{Date, Duration, OffsetDateTime};

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn day(d: Date) -> String {
    d.to_string()
}

/// The id of the seeded order type `code`.
async fn order_type(app: &TestApp, code: &str) -> i64 {
    let list: Value = app.get("/api/v1/order-types", &app.admin_token).await.json().await.unwrap();
    list["items"].as_array().unwrap().iter().find(|t| t["code"] == code).unwrap()["id"].as_i64().unwrap()
}

/// A customer with a time-and-material contract from 2026-01-01; the contract's id.
async fn contract(app: &TestApp) -> i64 {
    let customer = app.create_customer(json!({"name": "Weber Steuerberatung"})).await["id"].as_i64().unwrap();
    let body = json!({"customer_id": customer, "name": "Managed services", "kind": "time_and_material",
                      "start_date": "2026-01-01"});
    let res = app.post("/api/v1/contracts", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn schedule(app: &TestApp, contract_id: i64, body: Value) -> Value {
    let res = app.post(&format!("/api/v1/contracts/{contract_id}/schedules"), &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn generate(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/work-orders/generate", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// Every work order (ticket of type `work_order`), oldest first.
async fn work_orders(app: &TestApp) -> Vec<Value> {
    let res = app.get("/api/v1/tickets?ticket_type=work_order&limit=200", &app.admin_token).await;
    let mut items = res.json::<Value>().await.unwrap()["items"].as_array().cloned().unwrap();
    items.reverse();
    items
}

/// (schedule, occurrence, due date) of each generated order.
/// The fields a problem names, sorted.
fn fields(p: &Value) -> Vec<String> {
    let mut f = error_fields(p);
    f.sort();
    f
}

fn keys(answer: &Value) -> Vec<(i64, u64, String)> {
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["schedule_id"].as_i64().unwrap(), o["occurrence"].as_u64().unwrap(), o["due_date"].to_string()))
        .collect()
}

#[tokio::test]
async fn the_three_order_types_are_seeded_and_admins_maintain_them() {
    let app = spawn_app().await;
    let list: Value = app.get("/api/v1/order-types", &app.admin_token).await.json().await.unwrap();
    let seeded: Vec<(String, i64, bool)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["code"].as_str().unwrap().to_string(), t["lead_days"].as_i64().unwrap(), t["on_site"] == true))
        .collect();
    assert_eq!(
        seeded,
        [("internal".to_string(), 3, false), ("on_site".to_string(), 21, true), ("remote".to_string(), 7, false)]
    );

    let body = json!({"code": "dr_test", "name": "Disaster-recovery test", "lead_days": 14, "label": "#000000"});
    let res = app.post("/api/v1/order-types", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = location_of(&res);
    let created: Value = res.json().await.unwrap();
    assert_eq!((created["lead_days"].as_i64(), created["on_site"].as_bool()), (Some(14), Some(false)));
    problem(app.post("/api/v1/order-types", &app.admin_token, &body).await, StatusCode::CONFLICT).await;
    let bad = json!({"code": "Vor Ort", "name": "", "lead_days": 400});
    let p =
        problem(app.post("/api/v1/order-types", &app.admin_token, &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&p), ["code", "lead_days", "name"]);

    let res = app.patch(&location, &app.admin_token, &json!({"lead_days": 10, "label": null}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!((changed["lead_days"].as_i64(), changed["label"].is_null()), (Some(10), true));

    let (_, manager) = app.user_with_roles(&["manager"]).await;
    problem(
        app.post("/api/v1/order-types", &manager, &json!({"code": "x", "name": "x", "lead_days": 1})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(app.delete(&location, &app.admin_token).await.status(), StatusCode::OK);
    let list: Value = app.get("/api/v1/order-types", &manager).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "archived types are hidden");
}

#[tokio::test]
async fn each_occurrence_becomes_one_work_order_when_its_lead_time_has_come() {
    let app = spawn_app().await;
    let contract_id = contract(&app).await;
    let team = crate::teams::create_team(&app, "Field service North").await["id"].as_i64().unwrap();
    let remote = order_type(&app, "remote").await;
    let on_site = order_type(&app, "on_site").await;
    let internal = order_type(&app, "internal").await;
    // A monthly remote check on the last day of the month (7 days' lead).
    let monthly = schedule(
        &app,
        contract_id,
        json!({
            "title": "Monitoring summary", "order_type_id": remote,
            "instructions": ["Export the Nagios report", "Review disk trends"],
            "recurrence": {"unit": "months", "anchor": "2026-12-01", "day_of_month": 31},
            "assignee_team_id": team, "estimate_minutes": 60
        }),
    )
    .await;
    assert_eq!(monthly["recurrence"]["mode"], "fixed");
    assert_eq!(monthly["execution_billing"], "covered");
    // Quarterly on-site maintenance (21 days' lead, the on-site type's).
    let quarterly = schedule(
        &app,
        contract_id,
        json!({
            "title": "Server maintenance", "order_type_id": on_site,
            "recurrence": {"unit": "months", "every": 3, "anchor": "2027-01-05"},
            "execution_billing": "fixed_price", "fixed_price": "450.00", "estimate_minutes": 240
        }),
    )
    .await;
    // A yearly disaster-recovery test, once.
    schedule(
        &app,
        contract_id,
        json!({
            "title": "DR test", "order_type_id": internal,
            "recurrence": {"unit": "years", "anchor": "2027-06-30"}, "window": {"count": 1}
        }),
    )
    .await;
    let (m, q) = (monthly["id"].as_i64().unwrap(), quarterly["id"].as_i64().unwrap());

    let preview = generate(&app, json!({"until": "2027-03-31", "dry_run": true})).await;
    let expected = vec![
        (m, 0, "\"2026-12-31\"".to_string()),
        (m, 1, "\"2027-01-31\"".to_string()),
        (m, 2, "\"2027-02-28\"".to_string()),
        (m, 3, "\"2027-03-31\"".to_string()),
        (q, 0, "\"2027-01-05\"".to_string()),
        (q, 1, "\"2027-04-05\"".to_string()),
    ];
    assert_eq!(keys(&preview), expected);
    assert_eq!(preview["items"][4]["create_on"], "2026-12-15", "21 days before 5 January");
    assert!(preview["items"][0]["ticket_id"].is_null());
    assert!(work_orders(&app).await.is_empty(), "a dry run creates nothing");

    let done = generate(&app, json!({"until": "2027-03-31"})).await;
    assert_eq!((keys(&done), done["count"].as_u64()), (expected, Some(6)));
    let orders = work_orders(&app).await;
    assert_eq!(orders.len(), 6);
    let first = &orders[0];
    assert_eq!(first["ticket_type"], "work_order");
    assert_eq!(first["title"], "Monitoring summary");
    assert_eq!(first["due_date"], "2026-12-31");
    assert_eq!(first["assignee_team_id"].as_i64(), Some(team));
    assert_eq!(first["estimate_minutes"].as_i64(), Some(60));
    assert_eq!(first["contract_id"].as_i64(), Some(contract_id));
    assert_eq!(first["source"], "schedule");
    assert_eq!(first["description"], "- [ ] Export the Nagios report\n- [ ] Review disk trends");
    assert_eq!(done["items"][0]["number"], first["number"]);

    // Generating again creates nothing; a month later only what came due since.
    assert_eq!(generate(&app, json!({"until": "2027-03-31"})).await["count"], 0);
    let later = generate(&app, json!({"until": "2027-04-30"})).await;
    assert_eq!(keys(&later), [(m, 4, "\"2027-04-30\"".to_string())]);

    // Each creation is announced once.
    let events: Value =
        app.get("/api/v1/events?type=workorder.created&limit=200", &app.admin_token).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 7);

    // An archived contract plans nothing more.
    assert_eq!(
        app.delete(&format!("/api/v1/contracts/{contract_id}"), &app.admin_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(generate(&app, json!({"until": "2027-11-30"})).await["count"], 0);
}

#[tokio::test]
async fn generators_running_at_once_create_every_occurrence_once() {
    let app = spawn_app().await;
    let contract_id = contract(&app).await;
    let internal = order_type(&app, "internal").await;
    for title in ["Backup check", "Patch day", "Firewall review"] {
        schedule(
            &app,
            contract_id,
            json!({
                "title": title, "order_type_id": internal,
                "recurrence": {"unit": "weeks", "anchor": "2026-12-07", "weekday": "monday"}
            }),
        )
        .await;
    }
    // On SQLite the six take turns at the one writer; on a loaded machine one of them may
    // wait past the busy timeout and get 503 "retry later", as a client would, and retries.
    let generate_retrying = || {
        let (app, body) = (&app, json!({"until": "2027-03-28"}));
        async move {
            for _ in 0..5 {
                let res = app.post("/api/v1/work-orders/generate", &app.admin_token, &body).await;
                if res.status() != StatusCode::SERVICE_UNAVAILABLE {
                    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
                    return res.json::<Value>().await.unwrap();
                }
            }
            panic!("the generator stayed unavailable");
        }
    };
    let answers = futures_util::future::join_all((0..6).map(|_| generate_retrying())).await;
    let created: u64 = answers.iter().map(|a| a["count"].as_u64().unwrap()).sum();
    // Mondays 2026-12-07 … 2027-03-29 (created 3 days ahead, by 2027-03-28): 17 per schedule.
    assert_eq!(created, 3 * 17);
    let orders = work_orders(&app).await;
    assert_eq!(orders.len(), 3 * 17);
    let mut keys: Vec<(String, String)> =
        orders.iter().map(|o| (o["title"].to_string(), o["due_date"].to_string())).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3 * 17, "no occurrence twice");
}

/// With a pool large enough, PostgreSQL writes several chunks of 128 schedules side by side
/// (SQLite one after the other): still every occurrence once, also with two generators.
#[tokio::test]
async fn chunks_written_side_by_side_create_every_occurrence_once() {
    let app = spawn_app_with(|c| c.db_max_connections = Some(10)).await;
    let contract_id = contract(&app).await;
    let remote = order_type(&app, "remote").await;
    for n in 0..300 {
        schedule(
            &app,
            contract_id,
            json!({"title": format!("Check {n}"), "order_type_id": remote,
                   "recurrence": {"unit": "months", "anchor": "2027-01-31"}}),
        )
        .await;
    }
    // Due 31 Jan, 28 Feb, 31 Mar (created 7 days ahead, by 2027-03-31): 3 per schedule.
    let (a, b) = futures_util::future::join(
        generate(&app, json!({"until": "2027-03-31"})),
        generate(&app, json!({"until": "2027-03-31"})),
    )
    .await;
    assert_eq!(a["count"].as_u64().unwrap() + b["count"].as_u64().unwrap(), 900);
    let sql = crate::cluster::Sql::connect(&app.database_url).await;
    let distinct = sql.count("SELECT COUNT(*) FROM (SELECT DISTINCT schedule_id, occurrence FROM work_orders) d").await;
    let all = sql.count("SELECT COUNT(*) FROM work_orders").await;
    let numbers = sql.count("SELECT COUNT(DISTINCT number) FROM tickets").await;
    assert_eq!((all, distinct, numbers), (900, 900, 900));
}

#[tokio::test]
async fn after_completion_the_next_order_follows_the_day_the_work_was_done() {
    let app = spawn_app().await;
    let contract_id = contract(&app).await;
    let internal = order_type(&app, "internal").await;
    let s = schedule(
        &app,
        contract_id,
        json!({
            "title": "Restore test", "order_type_id": internal,
            "recurrence": {"mode": "after_completion", "unit": "months", "anchor": "2026-12-10"}
        }),
    )
    .await;
    let horizon = day(today() + Duration::days(300));
    assert_eq!(generate(&app, json!({"until": horizon})).await["count"], 1, "only the first while it is open");
    assert_eq!(generate(&app, json!({"until": horizon})).await["count"], 0);
    let order = &work_orders(&app).await[0];
    let path = format!("/api/v1/tickets/{}/status", order["id"]);
    for status in ["open", "in_progress", "resolved"] {
        let res = app.post(&path, &app.admin_token, &json!({"status": status})).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let next = generate(&app, json!({"until": horizon})).await;
    let due = domain::schedule::add_interval(today(), domain::schedule::IntervalUnit::Months, 1, None).unwrap();
    assert_eq!(keys(&next), [(s["id"].as_i64().unwrap(), 1, format!("\"{due}\""))]);
}

#[tokio::test]
async fn a_resumed_schedule_passes_over_what_fell_due_while_paused_unless_asked() {
    let app = spawn_app().await;
    let contract_id = contract(&app).await;
    let remote = order_type(&app, "remote").await;
    let anchor = today() - Duration::days(60);
    let s = schedule(
        &app,
        contract_id,
        json!({
            "title": "Weekly check", "order_type_id": remote, "paused": true,
            "recurrence": {"unit": "weeks", "anchor": day(anchor)}
        }),
    )
    .await;
    let path = format!("/api/v1/schedules/{}", s["id"]);
    assert_eq!(generate(&app, json!({})).await["count"], 0, "paused");
    let res = app.patch(&path, &app.admin_token, &json!({"paused": false}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let resumed: Value = res.json().await.unwrap();
    assert_eq!(resumed["not_before"], day(today()));
    let answer = generate(&app, json!({})).await;
    let dues: Vec<Date> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            Date::parse(o["due_date"].as_str().unwrap(), &time::format_description::well_known::Iso8601::DATE).unwrap()
        })
        .collect();
    // Weekly with 7 days' lead: the one or two due from today to a week ahead, none before.
    assert!(!dues.is_empty() && dues.iter().all(|d| *d >= today() && *d <= today() + Duration::days(7)), "{dues:?}");

    // Resumed with back-fill: every occurrence since the anchor is created after all.
    let s2 = schedule(
        &app,
        contract_id,
        json!({
            "title": "Weekly check (back-filled)", "order_type_id": remote, "paused": true,
            "recurrence": {"unit": "weeks", "anchor": day(anchor)}
        }),
    )
    .await;
    let path = format!("/api/v1/schedules/{}", s2["id"]);
    let res = app.patch(&path, &app.admin_token, &json!({"paused": false, "backfill": true}), None).await;
    assert_eq!(res.json::<Value>().await.unwrap()["not_before"], Value::Null);
    let answer = generate(&app, json!({})).await;
    assert!(answer["count"].as_u64().unwrap() >= 9, "every week since the anchor: {answer}");
    assert_eq!(answer["items"][0]["due_date"], day(anchor));
}

#[tokio::test]
async fn bad_schedules_are_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let contract_id = contract(&app).await;
    let remote = order_type(&app, "remote").await;
    let path = format!("/api/v1/contracts/{contract_id}/schedules");
    let bad = json!({
        "title": "", "order_type_id": remote,
        "recurrence": {"unit": "weeks", "every": 0, "anchor": "2027-01-01", "weekday": "Montag"},
        "window": {"end": "2026-01-01", "count": 0},
        "execution_billing": "fixed_price", "lead_days": 400, "instructions": ["ok", " "]
    });
    let p = problem(app.post(&path, &app.admin_token, &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        fields(&p),
        [
            "fixed_price",
            "instructions[1]",
            "lead_days",
            "recurrence.every",
            "recurrence.weekday",
            "title",
            "window.count",
            "window.end"
        ]
    );
    let day31_weeks = json!({"title": "x", "order_type_id": remote,
                             "recurrence": {"unit": "weeks", "anchor": "2027-01-01", "day_of_month": 31}});
    let p = problem(app.post(&path, &app.admin_token, &day31_weeks).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&p), ["recurrence.day_of_month"]);
    let unknown =
        json!({"title": "x", "order_type_id": 999_999, "recurrence": {"unit": "days", "anchor": "2027-01-01"}});
    let p = problem(app.post(&path, &app.admin_token, &unknown).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&p), ["order_type_id"]);
    let unknown_user = json!({"title": "x", "order_type_id": remote, "assignee_user_id": 999_999,
                              "recurrence": {"unit": "days", "anchor": "2027-01-01"}});
    let p = problem(app.post(&path, &app.admin_token, &unknown_user).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&p), ["assignee_user_id"]);
    let ok = json!({"title": "x", "order_type_id": remote, "recurrence": {"unit": "days", "anchor": "2027-01-01"}});
    problem(app.post("/api/v1/contracts/999999/schedules", &app.admin_token, &ok).await, StatusCode::NOT_FOUND).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(app.post(&path, &agent, &ok).await, StatusCode::FORBIDDEN).await;
    problem(app.get(&path, &agent).await, StatusCode::FORBIDDEN).await;
    let list: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty(), "nothing stored");
    let p = problem(
        app.post("/api/v1/work-orders/generate", &app.admin_token, &json!({"until": "2099-01-01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["until"]);
    let forged = json!({"title": "Not from a schedule", "source": "schedule"});
    let p =
        problem(app.post("/api/v1/tickets", &app.admin_token, &forged).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&p), ["source"]);

    // Stored, changed with If-Match, ended.
    let s = schedule(&app, contract_id, ok).await;
    let path = format!("/api/v1/schedules/{}", s["id"]);
    let res = app
        .patch(&path, &app.admin_token, &json!({"title": "Daily look"}), Some(&format!("\"schedule-{}-v99\"", s["id"])))
        .await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    let res = app.patch(&path, &app.admin_token, &json!({"execution_billing": "fixed_price"}), None).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&p), ["fixed_price"]);
    let etag = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let res =
        app.patch(&path, &app.admin_token, &json!({"title": "Daily look", "window": {"count": 2}}), Some(&etag)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!((changed["title"].as_str(), changed["window"]["count"].as_u64()), (Some("Daily look"), Some(2)));
    assert_eq!(app.delete(&path, &app.admin_token).await.status(), StatusCode::OK);
    assert_eq!(generate(&app, json!({"until": "2027-01-05"})).await["count"], 0, "an ended schedule creates nothing");
    let res = app.post(&format!("{path}/restore"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(generate(&app, json!({"until": "2027-01-05"})).await["count"], 2, "two occurrences by the window");
}

#[tokio::test]
async fn the_background_generator_creates_due_orders_by_itself() {
    let app = spawn_app_with(|c| c.scheduler_interval = Some(std::time::Duration::from_millis(200))).await;
    let contract_id = contract(&app).await;
    let internal = order_type(&app, "internal").await;
    schedule(
        &app,
        contract_id,
        json!({
            "title": "Daily backup check", "order_type_id": internal,
            "recurrence": {"unit": "days", "anchor": day(today())}, "window": {"count": 2}
        }),
    )
    .await;
    let mut orders = Vec::new();
    for _ in 0..100 {
        orders = work_orders(&app).await;
        if orders.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(orders.len(), 2, "today's and tomorrow's (3 days' lead)");
    assert_eq!(orders[0]["due_date"], day(today()));
}

#[tokio::test]
async fn dispatchers_see_overdue_orders_and_reschedule_skip_or_finish_them() {
    let app = spawn_app().await;
    let contract_id = contract(&app).await;
    let remote = order_type(&app, "remote").await;
    let team = crate::teams::create_team(&app, "Remote support").await["id"].as_i64().unwrap();
    let s = schedule(&app, contract_id, json!({
        "title": "Weekly patch check", "order_type_id": remote, "assignee_team_id": team,
        "instructions": ["Patch servers"], "recurrence": {"unit": "weeks", "anchor": day(today() - Duration::days(21))}
    }))
    .await;
    // Due 21, 14 and 7 days ago, today, and in a week (created today: 7 days' lead).
    let answer = generate(&app, json!({})).await;
    assert_eq!((answer["count"].as_u64(), answer["overdue_announced"].as_u64()), (Some(5), Some(3)));
    assert_eq!(generate(&app, json!({})).await["overdue_announced"], 0, "announced once");
    let events: Value = app.get("/api/v1/events?type=workorder.overdue", &app.admin_token).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 3);

    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let board = |query: String| {
        let (app, agent) = (&app, agent.clone());
        async move {
            let res = app.get(&format!("/api/v1/work-orders?{query}"), &agent).await;
            assert_eq!(res.status(), StatusCode::OK, "{query}");
            res.json::<Value>().await.unwrap()["items"].as_array().cloned().unwrap()
        }
    };
    let overdue = board("overdue=true".into()).await;
    assert_eq!(overdue.len(), 3);
    let first = &overdue[0];
    assert_eq!((first["overdue"].as_bool(), first["state"].as_str()), (Some(true), Some("open")));
    assert_eq!(first["due_date"], day(today() - Duration::days(21)));
    assert_eq!(first["schedule_id"], s["id"]);
    assert_eq!(first["checklist"], json!([{"item": "Patch servers", "done": false}]));
    assert_eq!(board(format!("team_id={team}")).await.len(), 5);
    assert_eq!(board("team_id=999999".into()).await.len(), 0);
    let week = format!("from={}&to={}", day(today() - Duration::days(7)), day(today()));
    assert_eq!(board(week).await.len(), 2);

    // Moved to the day agreed with the customer: no longer overdue, planned date kept.
    let id = first["id"].as_i64().unwrap();
    let moved_to = today() + Duration::days(2);
    let res = app
        .post(
            &format!("/api/v1/work-orders/{id}/reschedule"),
            &app.admin_token,
            &json!({"due_date": day(moved_to), "reason": "customer asked for Thursday"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let moved: Value = res.json().await.unwrap();
    assert_eq!((moved["due_date"].as_str(), moved["overdue"].as_bool()), (Some(day(moved_to).as_str()), Some(false)));
    assert_eq!(moved["planned_due"], first["due_date"]);
    assert_eq!(moved["reschedule_reason"], "customer asked for Thursday");
    let timeline: Value =
        app.get(&format!("/api/v1/tickets/{id}/timeline"), &app.admin_token).await.json().await.unwrap();
    assert!(timeline.to_string().contains("customer asked for Thursday"));
    assert_eq!(board("overdue=true".into()).await.len(), 2);

    // Skipped: closed, not done; nothing more to do with it.
    let second = board("overdue=true".into()).await[0]["id"].as_i64().unwrap();
    let skip = format!("/api/v1/work-orders/{second}/skip");
    problem(app.post(&skip, &agent, &json!({"reason": "x"})).await, StatusCode::FORBIDDEN).await;
    let p = problem(app.post(&skip, &app.admin_token, &json!({"reason": ""})).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(fields(&p), ["reason"]);
    let skipped: Value =
        app.post(&skip, &app.admin_token, &json!({"reason": "server retired"})).await.json().await.unwrap();
    assert_eq!((skipped["state"].as_str(), skipped["status"].as_str()), (Some("skipped"), Some("closed")));
    problem(app.post(&skip, &app.admin_token, &json!({"reason": "again"})).await, StatusCode::CONFLICT).await;
    let again = json!({"due_date": day(today()), "reason": "x"});
    problem(
        app.post(&format!("/api/v1/work-orders/{second}/reschedule"), &app.admin_token, &again).await,
        StatusCode::CONFLICT,
    )
    .await;

    // Done through the ticket: announced as completed, once.
    let third = board("overdue=true".into()).await[0]["id"].as_i64().unwrap();
    for status in ["open", "in_progress", "resolved", "closed"] {
        let res =
            app.post(&format!("/api/v1/tickets/{third}/status"), &app.admin_token, &json!({"status": status})).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let completed: Value =
        app.get("/api/v1/events?type=workorder.completed", &app.admin_token).await.json().await.unwrap();
    let completed = completed["items"].as_array().cloned().unwrap();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["entity_id"].as_i64(), Some(third));
    assert_eq!(board("state=done".into()).await.len(), 1);
    assert_eq!(board("state=skipped".into()).await.len(), 1);
    assert_eq!(board("state=open".into()).await.len(), 3);
    assert!(board("overdue=true".into()).await.is_empty());

    // A plain ticket is no work order.
    let ticket = app.post("/api/v1/tickets", &app.admin_token, &json!({"title": "Printer"})).await;
    let ticket: Value = ticket.json().await.unwrap();
    problem(app.get(&format!("/api/v1/work-orders/{}", ticket["id"]), &app.admin_token).await, StatusCode::NOT_FOUND)
        .await;
}

#[tokio::test]
async fn two_server_processes_generating_at_once_create_every_occurrence_once() {
    let c = crate::cluster::Cluster::start(2).await;
    let customer = c.created(0, "/api/v1/customers", json!({"name": "Systemhaus Nord"})).await["id"].as_i64().unwrap();
    let contract = c
        .created(
            0,
            "/api/v1/contracts",
            json!({"customer_id": customer, "name": "Managed services",
            "kind": "time_and_material", "start_date": "2026-01-01"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let types = c.request(1, reqwest::Method::GET, "/api/v1/order-types", None, None).await.unwrap();
    let internal =
        types.body["items"].as_array().unwrap().iter().find(|t| t["code"] == "internal").unwrap()["id"].clone();
    for i in 0..10 {
        c.created(
            i % 2,
            &format!("/api/v1/contracts/{contract}/schedules"),
            json!({
                "title": format!("Check {i}"), "order_type_id": internal,
                "recurrence": {"unit": "weeks", "anchor": "2026-12-07", "weekday": "monday"}
            }),
        )
        .await;
    }
    let calls = (0..8).map(|i| c.post(i % 2, "/api/v1/work-orders/generate", Some(json!({"until": "2027-03-28"}))));
    let answers = futures_util::future::join_all(calls).await;
    let mut created = 0;
    for a in &answers {
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        created += a.body["count"].as_i64().unwrap();
    }
    // 17 Mondays from 7 December to 29 March, for each of the ten schedules.
    assert_eq!(created, 170, "{} nodes", c.backend());
    assert_eq!(c.sql.count("SELECT COUNT(*) FROM work_orders").await, 170);
    assert_eq!(
        c.sql.count("SELECT COUNT(*) FROM (SELECT DISTINCT schedule_id, occurrence FROM work_orders) d").await,
        170
    );
    assert_eq!(
        c.sql.count("SELECT COUNT(*) FROM tickets WHERE ticket_type = 'work_order'").await,
        170,
        "no stray ticket"
    );
    assert_eq!(c.sql.count("SELECT COUNT(DISTINCT number) FROM tickets").await, 170, "ticket numbers unique");
}

#[tokio::test]
async fn technicians_tick_the_checklist_of_a_work_order_until_it_is_skipped() {
    let app = spawn_app().await;
    let contract_id = contract(&app).await;
    let internal = order_type(&app, "internal").await;
    schedule(&app, contract_id, json!({
        "title": "Backup check", "order_type_id": internal, "instructions": ["Check the backup logs", "Test a restore"],
        "recurrence": {"unit": "weeks", "anchor": day(today())}
    }))
    .await;
    generate(&app, json!({})).await;
    let id = work_orders(&app).await[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/work-orders/{id}/checklist");
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let put = |token: String, body: Value| {
        let (app, path) = (&app, path.clone());
        async move { app.request(reqwest::Method::PUT, &path, Some(&token)).json(&body).send().await.unwrap() }
    };
    let ticked = json!({"items": [{"item": "Check the backup logs", "done": true},
                                  {"item": "Test a restore", "done": false},
                                  {"item": " Replace the tape ", "done": true}]});
    let res = put(agent.clone(), ticked).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let order: Value = res.json().await.unwrap();
    assert_eq!(
        order["checklist"],
        json!([{"item": "Check the backup logs", "done": true}, {"item": "Test a restore", "done": false},
               {"item": "Replace the tape", "done": true}])
    );
    // Bad lists change nothing.
    for bad in [json!({"items": [{"item": "  ", "done": true}]}), json!({"items": [{"item": "", "done": true}]})] {
        let p = problem(put(agent.clone(), bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(fields(&p).len(), 1, "{p}");
        assert!(fields(&p)[0].starts_with("items"), "{p}");
    }
    problem(put(agent.clone(), json!({"items": [{"item": "x"}]})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let (_, reader) = app.api_key(&["tickets:read"]).await;
    problem(put(reader, json!({"items": []})).await, StatusCode::FORBIDDEN).await;
    let stored: Value = app.get(&format!("/api/v1/work-orders/{id}"), &agent).await.json().await.unwrap();
    assert_eq!(stored["checklist"], order["checklist"]);
    let skip =
        app.post(&format!("/api/v1/work-orders/{id}/skip"), &app.admin_token, &json!({"reason": "holiday"})).await;
    assert_eq!(skip.status(), StatusCode::OK);
    problem(put(agent, json!({"items": []})).await, StatusCode::CONFLICT).await;
    problem(
        app.request(reqwest::Method::PUT, "/api/v1/work-orders/999999/checklist", Some(&app.admin_token))
            .json(&json!({"items": []}))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}
