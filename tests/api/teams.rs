//! End-to-end tests: teams of employees and their members.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Creates a team as admin; panics unless 201.
pub async fn create_team(app: &TestApp, name: &str) -> Value {
    let res = app.post("/api/v1/teams", &app.admin_token, &json!({"name": name})).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create team: {}", res.text().await.unwrap_or_default());
    res.json().await.expect("json")
}

/// PUT /teams/{team}/members/{user} with a bearer credential.
pub async fn put_member(app: &TestApp, team: i64, user: i64, token: &str) -> reqwest::Response {
    app.request(Method::PUT, &format!("/api/v1/teams/{team}/members/{user}"), Some(token))
        .send()
        .await
        .expect("request")
}

/// Creates a user with this name (as admin) and returns its id.
async fn employee(app: &TestApp, name: &str, roles: &[&str]) -> i64 {
    let email = format!("{}@test.example", name.to_lowercase().replace(' ', "."));
    let res = app
        .post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"email": email, "name": name, "password": USER_PASSWORD, "roles": roles}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "create user: {}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.expect("json")["id"].as_i64().expect("id")
}

/// All teams visible with this query (follows every page).
async fn all_teams(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/teams?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = app.get(&path, &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.expect("json");
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn names(items: &[Value], field: &str) -> Vec<String> {
    items.iter().map(|t| t[field].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_new_team_gets_members_whose_names_are_shown_with_the_team() {
    let app = spawn_app().await;
    let res = app
        .post("/api/v1/teams", &app.admin_token, &json!({"name": " Field service North ", "description": "Hamburg"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let team: Value = res.json().await.unwrap();
    let id = team["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/teams/{id}"));
    assert_eq!(team["name"], "Field service North");
    assert_eq!(team["description"], "Hamburg");
    assert_eq!(team["members"], json!([]));
    assert_eq!(team["version"], 1);

    let zoe = employee(&app, "Zoe Berger", &["agent"]).await;
    let adam = employee(&app, "Adam Novak", &["agent", "manager"]).await;
    let res = put_member(&app, id, zoe, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::CREATED, "a new member");
    assert_eq!(res.headers()["etag"].to_str().unwrap(), format!("\"team-{id}-v2\""));
    let res = put_member(&app, id, adam, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let with_both: Value = res.json().await.unwrap();
    assert_eq!(names(with_both["members"].as_array().unwrap(), "name"), vec!["Adam Novak", "Zoe Berger"]);
    assert_eq!(with_both["members"][0]["user_id"], adam);
    assert_eq!(with_both["members"][0]["email"], "adam.novak@test.example");
    assert!(with_both["members"][0]["added_at"].is_string());

    // Adding again is idempotent: 200, nothing changes.
    let res = put_member(&app, id, zoe, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["version"], with_both["version"]);
    assert_eq!(again["members"].as_array().unwrap().len(), 2);

    let members: Value = app.get(&format!("/api/v1/teams/{id}/members"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(names(members["items"].as_array().unwrap(), "name"), vec!["Adam Novak", "Zoe Berger"]);
    let read: Value = app.get(&location, &app.admin_token).await.json().await.unwrap();
    assert_eq!(read["members"].as_array().unwrap().len(), 2);
    let listed = all_teams(&app, "").await;
    assert_eq!(listed[0]["members"].as_array().unwrap().len(), 2, "lists show members too");
}

#[tokio::test]
async fn removing_a_member_leaves_the_others_and_a_non_member_is_404() {
    let app = spawn_app().await;
    let team = create_team(&app, "Remote desk").await;
    let id = team["id"].as_i64().unwrap();
    let anna = employee(&app, "Anna Kraus", &["agent"]).await;
    let ben = employee(&app, "Ben Weber", &["agent"]).await;
    put_member(&app, id, anna, &app.admin_token).await;
    put_member(&app, id, ben, &app.admin_token).await;

    let path = format!("/api/v1/teams/{id}/members/{anna}");
    let res = app.delete(&path, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let left: Value = res.json().await.unwrap();
    assert_eq!(names(left["members"].as_array().unwrap(), "name"), vec!["Ben Weber"]);
    let p = problem(app.delete(&path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    assert!(p["detail"].as_str().unwrap().contains("member"), "{p}");
    problem(app.delete(&format!("/api/v1/teams/{id}/members/99999"), &app.admin_token).await, StatusCode::NOT_FOUND)
        .await;

    let log: Value = app
        .get(&format!("/api/v1/audit-log?entity_type=team&entity_id={id}"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["remove_member", "add_member", "add_member", "create"]);
    assert_eq!(log["items"][0]["before"]["members"].as_array().unwrap().len(), 2);
    assert_eq!(log["items"][0]["after"]["members"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn adding_an_unknown_or_deactivated_user_is_rejected_on_user_id_and_changes_nothing() {
    let app = spawn_app().await;
    let team = create_team(&app, "Field service South").await;
    let id = team["id"].as_i64().unwrap();
    for user in ["99999", "abc", "0"] {
        let res = app
            .request(Method::PUT, &format!("/api/v1/teams/{id}/members/{user}"), Some(&app.admin_token))
            .send()
            .await
            .unwrap();
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["user_id"], "{user}: {p}");
        assert_eq!(p["errors"][0]["code"], "unknown_reference");
    }
    let gone = employee(&app, "Former Colleague", &["agent"]).await;
    app.patch(&format!("/api/v1/users/{gone}"), &app.admin_token, &json!({"active": false}), None).await;
    let p = problem(put_member(&app, id, gone, &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["user_id"]);
    assert_eq!(p["errors"][0]["code"], "inactive");

    let unchanged: Value = app.get(&format!("/api/v1/teams/{id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["members"], json!([]));
    assert_eq!(unchanged["version"], 1);
    assert_eq!(app.audit_count(Some("team")).await, 1, "only the creation");
    // An unknown team is 404, not a user error.
    let someone = employee(&app, "Some One", &["agent"]).await;
    problem(put_member(&app, 99999, someone, &app.admin_token).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn invalid_teams_get_per_field_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "x".repeat(101)}), vec!["name"]),
        (json!({"name": "A", "description": "d".repeat(2001)}), vec!["description"]),
        (json!({"name": 5}), vec!["name"]),
        (json!({"description": "no name"}), vec!["name"]),
        (json!({"name": "A", "members": [1]}), vec!["members"]),
    ];
    for (body, fields) in cases {
        let p =
            problem(app.post("/api/v1/teams", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), fields, "for {body}: {p}");
    }
    assert!(all_teams(&app, "status=all").await.is_empty());
    assert_eq!(app.audit_count(Some("team")).await, 0);
}

#[tokio::test]
async fn a_team_name_can_be_used_only_once() {
    let app = spawn_app().await;
    create_team(&app, "Network").await;
    let other = create_team(&app, "Servers").await;
    let p =
        problem(app.post("/api/v1/teams", &app.admin_token, &json!({"name": "Network"})).await, StatusCode::CONFLICT)
            .await;
    assert!(p["detail"].as_str().unwrap().contains("name"), "{p}");
    let path = format!("/api/v1/teams/{}", other["id"]);
    problem(app.patch(&path, &app.admin_token, &json!({"name": "Network"}), None).await, StatusCode::CONFLICT).await;
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["name"], "Servers");
    assert_eq!(all_teams(&app, "").await.len(), 2);
}

#[tokio::test]
async fn renaming_a_team_keeps_its_members_and_a_stale_if_match_is_412() {
    let app = spawn_app().await;
    let team = create_team(&app, "Helpdesk").await;
    let id = team["id"].as_i64().unwrap();
    let path = format!("/api/v1/teams/{id}");
    let v1 = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let eva = employee(&app, "Eva Lang", &["agent"]).await;
    put_member(&app, id, eva, &app.admin_token).await;

    // A member change is a change of the team: the old tag is stale.
    problem(
        app.patch(&path, &app.admin_token, &json!({"name": "Service desk"}), Some(&v1)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let v2 = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .patch(&path, &app.admin_token, &json!({"name": "Service desk", "description": "1st level"}), Some(&v2))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let renamed: Value = res.json().await.unwrap();
    assert_eq!(renamed["name"], "Service desk");
    assert_eq!(renamed["members"][0]["user_id"], eva);
    let cleared: Value =
        app.patch(&path, &app.admin_token, &json!({"description": null}), None).await.json().await.unwrap();
    assert!(cleared["description"].is_null());
    assert_eq!(cleared["name"], "Service desk");
    problem(app.patch(&path, &app.admin_token, &json!({"name": ""}), None).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["version"], cleared["version"]);
}

#[tokio::test]
async fn unknown_teams_are_404() {
    let app = spawn_app().await;
    for path in ["/api/v1/teams/999", "/api/v1/teams/abc", "/api/v1/teams/999/members"] {
        problem(app.get(path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }
    problem(app.patch("/api/v1/teams/999", &app.admin_token, &json!({"name": "x"}), None).await, StatusCode::NOT_FOUND)
        .await;
    problem(app.delete("/api/v1/teams/999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.delete("/api/v1/teams/999/members/1", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.post("/api/v1/teams/999/restore", &app.admin_token, &json!({})).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_member_filter_lists_the_teams_of_one_user() {
    let app = spawn_app().await;
    let north = create_team(&app, "North").await["id"].as_i64().unwrap();
    let south = create_team(&app, "South").await["id"].as_i64().unwrap();
    create_team(&app, "West").await;
    let tom = employee(&app, "Tom Both", &["agent"]).await;
    let uli = employee(&app, "Uli South", &["agent"]).await;
    for (team, user) in [(north, tom), (south, tom), (south, uli)] {
        put_member(&app, team, user, &app.admin_token).await;
    }
    assert_eq!(names(&all_teams(&app, &format!("member={tom}")).await, "name"), vec!["North", "South"]);
    assert_eq!(names(&all_teams(&app, &format!("member={uli}")).await, "name"), vec!["South"]);
    assert!(all_teams(&app, "member=99999").await.is_empty());
    assert_eq!(names(&all_teams(&app, "q=OUT").await, "name"), vec!["South"]);
    problem(app.get("/api/v1/teams?member=abc", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn an_archived_team_stays_readable_but_is_read_only_until_restored() {
    let app = spawn_app().await;
    let team = create_team(&app, "Old projects").await;
    let id = team["id"].as_i64().unwrap();
    create_team(&app, "Current").await;
    let kim = employee(&app, "Kim Ott", &["agent"]).await;
    put_member(&app, id, kim, &app.admin_token).await;
    let path = format!("/api/v1/teams/{id}");

    let archived: Value = app.delete(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(archived["archived"], true);
    assert_eq!(archived["members"].as_array().unwrap().len(), 1, "members are kept");
    assert_eq!(app.delete(&path, &app.admin_token).await.status(), StatusCode::OK, "idempotent");
    assert_eq!(names(&all_teams(&app, "").await, "name"), vec!["Current"]);
    assert_eq!(names(&all_teams(&app, "status=archived").await, "name"), vec!["Old projects"]);
    assert_eq!(all_teams(&app, "status=all").await.len(), 2);
    assert_eq!(app.get(&path, &app.admin_token).await.status(), StatusCode::OK);

    problem(app.patch(&path, &app.admin_token, &json!({"name": "x"}), None).await, StatusCode::CONFLICT).await;
    let other = employee(&app, "New Person", &["agent"]).await;
    problem(put_member(&app, id, other, &app.admin_token).await, StatusCode::CONFLICT).await;
    problem(app.delete(&format!("{path}/members/{kim}"), &app.admin_token).await, StatusCode::CONFLICT).await;

    let restored: Value =
        app.post(&format!("{path}/restore"), &app.admin_token, &json!({})).await.json().await.unwrap();
    assert_eq!(restored["archived"], false);
    assert_eq!(put_member(&app, id, other, &app.admin_token).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn team_pages_cover_every_team_exactly_once_in_name_order() {
    let app = spawn_app().await;
    let mut ids = HashSet::new();
    let user = employee(&app, "Pager Member", &["agent"]).await;
    for i in 0..17 {
        let t = create_team(&app, &format!("Team {:02}", (i * 5) % 17)).await;
        let id = t["id"].as_i64().unwrap();
        if i % 3 == 0 {
            put_member(&app, id, user, &app.admin_token).await;
        }
        ids.insert(id);
    }
    for limit in [1, 3, 17, 200] {
        let all = all_teams(&app, &format!("limit={limit}")).await;
        let seen: Vec<i64> = all.iter().map(|t| t["id"].as_i64().unwrap()).collect();
        assert_eq!(seen.len(), 17, "limit={limit}: duplicates or gaps");
        assert_eq!(seen.iter().copied().collect::<HashSet<_>>(), ids);
        let got = names(&all, "name");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted);
        let with_member = all.iter().filter(|t| !t["members"].as_array().unwrap().is_empty()).count();
        assert_eq!(with_member, 6, "limit={limit}: members attached to the right teams");
    }
    assert_eq!(all_teams(&app, &format!("member={user}&limit=2")).await.len(), 6);
}

#[tokio::test]
async fn managers_and_admins_manage_teams_everyone_else_only_reads() {
    let app = spawn_app().await;
    let team = create_team(&app, "Rollen").await;
    let id = team["id"].as_i64().unwrap();
    let path = format!("/api/v1/teams/{id}");
    let member = employee(&app, "Member Person", &["agent"]).await;
    for role in ["viewer", "agent", "billing"] {
        let (me, token) = app.user_with_roles(&[role]).await;
        assert_eq!(app.get("/api/v1/teams", &token).await.status(), StatusCode::OK, "{role} lists");
        assert_eq!(app.get(&path, &token).await.status(), StatusCode::OK, "{role} reads");
        assert_eq!(app.get(&format!("{path}/members"), &token).await.status(), StatusCode::OK);
        problem(app.post("/api/v1/teams", &token, &json!({"name": role})).await, StatusCode::FORBIDDEN).await;
        problem(app.patch(&path, &token, &json!({"name": "X"}), None).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&path, &token).await, StatusCode::FORBIDDEN).await;
        problem(put_member(&app, id, me, &token).await, StatusCode::FORBIDDEN).await;
    }
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    assert_eq!(app.post("/api/v1/teams", &manager, &json!({"name": "By manager"})).await.status(), StatusCode::CREATED);
    assert_eq!(put_member(&app, id, member, &manager).await.status(), StatusCode::CREATED);
    assert_eq!(app.patch(&path, &manager, &json!({"description": "x"}), None).await.status(), StatusCode::OK);
    assert_eq!(app.delete(&format!("{path}/members/{member}"), &manager).await.status(), StatusCode::OK);

    let (_, key) = app.api_key(&["tickets:write"]).await;
    assert_eq!(app.get("/api/v1/teams", &key).await.status(), StatusCode::OK, "a helpdesk key reads teams");
    problem(app.post("/api/v1/teams", &key, &json!({"name": "Machine"})).await, StatusCode::FORBIDDEN).await;
    problem(put_member(&app, id, member, &key).await, StatusCode::FORBIDDEN).await;
    problem(app.client.get(app.url("/api/v1/teams")).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(names(&all_teams(&app, "").await, "name"), vec!["By manager", "Rollen"]);
}

#[tokio::test]
async fn adding_the_same_member_concurrently_adds_them_once() {
    let app = spawn_app_with(|c| c.workers = Some(2)).await;
    let team = create_team(&app, "Race").await;
    let id = team["id"].as_i64().unwrap();
    let user = employee(&app, "Rita Race", &["agent"]).await;
    let responses = futures_util::future::join_all((0..8).map(|_| put_member(&app, id, user, &app.admin_token))).await;
    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 7, "{statuses:?}");
    let read: Value = app.get(&format!("/api/v1/teams/{id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(read["members"].as_array().unwrap().len(), 1);
    assert_eq!(read["version"], 2);
    let log: Value = app
        .get(&format!("/api/v1/audit-log?entity_type=team&entity_id={id}"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "one creation, one addition");
}
