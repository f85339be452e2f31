//! End-to-end tests: absences and the capacity view (per person and team and ISO week:
//! capacity less holidays and absences, planned estimates, booked time).

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// (capacity, planned, booked, free, over_booked) of each week of `weeks`.
fn figures(weeks: &Value) -> Vec<(String, String, String, String, bool)> {
    weeks
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let s = |k: &str| w[k].as_str().unwrap().to_string();
            (s("capacity_hours"), s("planned_hours"), s("booked_hours"), s("free_hours"), w["over_booked"] == true)
        })
        .collect()
}

fn row(c: &str, p: &str, b: &str, f: &str, over: bool) -> (String, String, String, String, bool) {
    (c.into(), p.into(), b.into(), f.into(), over)
}

#[tokio::test]
async fn capacity_per_week_counts_holidays_absences_estimates_and_bookings() {
    let app = spawn_app().await;
    let (anna, anna_token) = app.user_with_roles(&["agent"]).await;
    let (ben, _) = app.user_with_roles(&["agent"]).await;
    let res = app
        .patch(&format!("/api/v1/users/{ben}"), &app.admin_token, &json!({"weekly_capacity_hours": "20"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let team = crate::teams::create_team(&app, "Field service").await["id"].as_i64().unwrap();
    for user in [anna, ben] {
        let res = app
            .request(Method::PUT, &format!("/api/v1/teams/{team}/members/{user}"), Some(&app.admin_token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // Epiphany on Wednesday of week 1; Anna off Monday and Tuesday of week 2.
    let res = app
        .request(Method::PUT, "/api/v1/holidays/2027-01-06", Some(&app.admin_token))
        .json(&json!({"name": "Heilige Drei Könige"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let absence = json!({"user_id": anna, "start_date": "2027-01-11", "end_date": "2027-01-12", "kind": "vacation"});
    let res = app.post("/api/v1/absences", &app.admin_token, &absence).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let absence_path = location_of(&res);
    // Planned: 10 h for Anna in week 1, 25 h for Ben in week 2, 2 h for the team in week 2;
    // a resolved ticket's estimate is not planned any more.
    let customer = app.create_customer(json!({"name": "Weber"})).await["id"].clone();
    let mut tickets = Vec::new();
    for (assignee, team_only, due, minutes) in [
        (Some(anna), false, "2027-01-07", 600),
        (Some(ben), false, "2027-01-13", 1500),
        (None, true, "2027-01-13", 120),
        (Some(anna), false, "2027-01-08", 300),
    ] {
        let mut body = json!({"title": "Work", "customer_id": customer, "due_date": due, "estimate_minutes": minutes});
        if let Some(a) = assignee {
            body["assignee_user_id"] = json!(a);
        }
        if team_only {
            body["assignee_team_id"] = json!(team);
        }
        let res = app.post("/api/v1/tickets", &app.admin_token, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        tickets.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    for status in ["open", "in_progress", "resolved"] {
        app.post(&format!("/api/v1/tickets/{}/status", tickets[3]), &app.admin_token, &json!({"status": status})).await;
    }
    // Booked: Anna 90 minutes on Tuesday of week 1.
    let service = crate::bookings::service(&app, "REMOTE", "hour", true).await;
    let res = app
        .post(
            "/api/v1/bookings",
            &anna_token,
            &json!({"work_date": "2027-01-05", "duration_minutes": 90,
            "service_id": service, "ticket_id": tickets[0], "description": "Setup"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res =
        app.get(&format!("/api/v1/capacity?from=2027-01-04&to=2027-01-17&team_id={team}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let view: Value = res.json().await.unwrap();
    let people = view["people"].as_array().unwrap();
    let person = |id: i64| people.iter().find(|p| p["user_id"] == id).unwrap();
    assert_eq!(person(anna)["weeks"][0]["week"], "2027-W01");
    assert_eq!(person(anna)["weeks"][0]["working_days"], 4);
    assert_eq!(
        figures(&person(anna)["weeks"]),
        [row("32.00", "10.00", "1.50", "22.00", false), row("24.00", "0.00", "0.00", "24.00", false)]
    );
    assert_eq!(
        figures(&person(ben)["weeks"]),
        [row("16.00", "0.00", "0.00", "16.00", false), row("20.00", "25.00", "0.00", "-5.00", true)]
    );
    let team_view = &view["team"];
    assert_eq!(
        figures(&team_view["weeks"]),
        [row("48.00", "10.00", "1.50", "38.00", false), row("44.00", "27.00", "0.00", "17.00", false)]
    );
    assert_eq!(team_view["unassigned_planned_hours"], json!(["0.00", "2.00"]));

    // One person; the absence deleted gives the days back.
    assert_eq!(app.delete(&absence_path, &app.admin_token).await.status(), StatusCode::NO_CONTENT);
    let view: Value = app
        .get(&format!("/api/v1/capacity?from=2027-01-04&to=2027-01-17&user_id={anna}"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["people"].as_array().unwrap().len(), 1);
    assert_eq!(view["people"][0]["weeks"][1]["capacity_hours"], "40.00");
    assert!(view["team"].is_null());
    let absences: Value =
        app.get("/api/v1/absences?from=2027-01-01&to=2027-01-31", &app.admin_token).await.json().await.unwrap();
    assert!(absences["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_capacity_and_absence_requests_are_refused() {
    let app = spawn_app().await;
    let (anna, agent) = app.user_with_roles(&["agent"]).await;
    problem(app.get("/api/v1/capacity", &agent).await, StatusCode::FORBIDDEN).await;
    let p = problem(
        app.get("/api/v1/capacity?from=2027-01-10&to=2027-01-01", &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["to"]);
    let p = problem(
        app.get("/api/v1/capacity?from=2027-01-01&to=2027-12-31", &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["to"]);
    problem(app.get("/api/v1/capacity?team_id=999999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let bad = json!({"user_id": anna, "start_date": "2027-01-12", "end_date": "2027-01-11", "kind": "vacation"});
    let p = problem(app.post("/api/v1/absences", &app.admin_token, &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), ["end_date"]);
    let unknown = json!({"user_id": 999999, "start_date": "2027-01-11", "end_date": "2027-01-11", "kind": "sick"});
    let p =
        problem(app.post("/api/v1/absences", &app.admin_token, &unknown).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), ["user_id"]);
    let kind = json!({"user_id": anna, "start_date": "2027-01-11", "end_date": "2027-01-11", "kind": "holiday"});
    assert!(app.post("/api/v1/absences", &app.admin_token, &kind).await.status().is_client_error());
    problem(app.post("/api/v1/absences", &agent, &unknown).await, StatusCode::FORBIDDEN).await;
    problem(app.delete("/api/v1/absences/999999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let absences: Value =
        app.get("/api/v1/absences?from=2027-01-01&to=2027-01-31", &app.admin_token).await.json().await.unwrap();
    assert!(absences["items"].as_array().unwrap().is_empty(), "nothing stored");
}
