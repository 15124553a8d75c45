//! The set-up pages (`/setup/…`) over plain HTTP: an admin sets up an
//! organisation from an empty database — team, member, project, service
//! scope, webhook secret (then a delivery signed with it is accepted), KPI
//! series and point — with every refusal shown next to its field and nothing
//! stored; members and stakeholders get 403, managers all but the secrets.

use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::json;
use sha2::Sha256;
use tandem_domain::engineering::Provider;
use tandem_store::{EngineKind, Store};

use crate::pages::{Browser, csrf_of, input_value};
use crate::support::{ADMIN_PASSWORD, TestApp};

tandem_testkit::per_engine!(
    an_admin_sets_up_an_organisation_from_an_empty_database,
    set_up_refusals_show_next_to_their_field_and_store_nothing,
    set_up_pages_need_the_manager_role,
);

const PASSWORD: &str = "a-long-enough-password";

/// A user made through the admin API.
async fn user(app: &TestApp, username: &str, role: &str) {
    app.post(
        &app.admin,
        "/api/v1/users",
        json!({"username": username, "role": role, "password": PASSWORD}),
    )
    .await
    .ok(201);
}

/// The text between `id="{id}"` and the end of its element's line.
fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id} in {html}"));
    let rest = &html[at..];
    &rest[..rest.find('\n').unwrap_or(rest.len())]
}

/// The text of the `<code>` element with this id.
fn code_text(html: &str, id: &str) -> String {
    let el = element(html, id);
    let start = el.find('>').expect("end of the tag") + 1;
    let end = el.find("</code>").expect("end of the code");
    el[start..end].to_owned()
}

async fn team_count(store: &Store) -> usize {
    store
        .list_teams(&tandem_store::ListQuery::default())
        .await
        .unwrap()
        .items
        .len()
}

async fn an_admin_sets_up_an_organisation_from_an_empty_database(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let store = app.store().await;
    user(&app, "dev", "member").await;
    let mut b = Browser::new(&app);
    b.sign_in("admin", ADMIN_PASSWORD).await;

    // The navigation leads to set-up; an empty database says so.
    let home = b.get("/").await;
    assert!(home.body.contains("<a href=\"/setup\""), "{}", home.body);
    let setup = b.get("/setup").await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    assert!(setup.body.contains("No teams yet"));
    let csrf = csrf_of(&setup.body);

    // A team.
    let made = b
        .post(
            "/setup/teams",
            &[
                ("csrf", &csrf),
                ("key", "payments"),
                ("name", "Payments"),
                ("timezone", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(
        made.location.as_deref(),
        Some("/setup/teams/payments?done=team-created")
    );
    let team = b.get("/setup/teams/payments?done=team-created").await;
    assert_eq!(team.status, 200, "{}", team.body);
    assert!(team.body.contains("Team created."), "{}", team.body);
    let t = store.get_team_by_key("payments").await.unwrap();
    assert_eq!(
        (t.name.as_str(), t.timezone.as_str()),
        ("Payments", "Europe/Berlin")
    );
    let saved = b
        .post(
            "/setup/teams/payments",
            &[
                ("csrf", &csrf),
                ("name", "Payments team"),
                ("timezone", "UTC"),
            ],
        )
        .await;
    assert_eq!(
        saved.location.as_deref(),
        Some("/setup/teams/payments?done=team-saved")
    );
    assert_eq!(store.get_team(t.id).await.unwrap().name, "Payments team");

    // A member, added and removed and added again.
    let team = b.get("/setup/teams/payments").await;
    assert!(team.body.contains("<option value=\"dev\""), "{}", team.body);
    let add = [("csrf", csrf.as_str()), ("username", "dev")];
    let added = b.post("/setup/teams/payments/members", &add).await;
    assert_eq!(
        added.location.as_deref(),
        Some("/setup/teams/payments?done=member-added")
    );
    let members = |store: Store| async move {
        let t = store.get_team_by_key("payments").await.unwrap();
        store
            .team_members(t.id)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect::<Vec<_>>()
    };
    assert_eq!(members(store.clone()).await, vec!["dev"]);
    let removed = b.post("/setup/teams/payments/members/remove", &add).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(members(store.clone()).await.is_empty());
    b.post("/setup/teams/payments/members", &add).await;
    let team = b.get("/setup/teams/payments?done=member-added").await;
    assert!(team.body.contains("Member added."));
    assert!(team.body.contains("<td>dev</td>"), "{}", team.body);

    // A project with a monorepo of two services.
    let project = b
        .post(
            "/setup/teams/payments/projects",
            &[
                ("csrf", &csrf),
                ("key", "payments-api"),
                ("name", "Payments API"),
                ("repositories", "acme/payments\r\nacme/mono"),
                ("services", "payments\r\napi, web"),
            ],
        )
        .await;
    assert_eq!(
        project.location.as_deref(),
        Some("/setup/projects/payments-api?done=project-created"),
        "{}",
        project.body
    );
    let p = store.get_project_by_key("payments-api").await.unwrap();
    assert_eq!(p.team_id, t.id);
    assert_eq!(p.repositories, vec!["acme/payments", "acme/mono"]);
    assert_eq!(p.services, vec!["payments", "api", "web"]);
    let page = b
        .get("/setup/projects/payments-api?done=project-created")
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Project created."));
    let edited = b
        .post(
            "/setup/projects/payments-api",
            &[
                ("csrf", &csrf),
                ("name", "Payments"),
                ("repositories", "acme/payments\nacme/mono"),
                ("services", "payments\napi\nweb"),
            ],
        )
        .await;
    assert_eq!(
        edited.location.as_deref(),
        Some("/setup/projects/payments-api?done=project-saved")
    );
    assert_eq!(store.get_project(p.id).await.unwrap().name, "Payments");

    // Service scopes: set, shown, replaced, removed.
    let scope = [
        ("csrf", csrf.as_str()),
        ("service", "api"),
        ("repo", "acme/mono"),
        ("path_prefixes", "services/api/\nlib/shared/"),
    ];
    let saved = b.post("/setup/projects/payments-api/scopes", &scope).await;
    assert_eq!(
        saved.location.as_deref(),
        Some("/setup/projects/payments-api?done=scope-saved"),
        "{}",
        saved.body
    );
    let scopes = tandem_app::org::service_scopes(&store, "payments-api")
        .await
        .unwrap();
    assert_eq!(scopes.len(), 1);
    assert_eq!(
        scopes[0].path_prefixes,
        vec!["services/api/", "lib/shared/"]
    );
    let page = b.get("/setup/projects/payments-api?done=scope-saved").await;
    assert!(
        page.body.contains("services/api/, lib/shared/"),
        "{}",
        page.body
    );
    let removed = b
        .post(
            "/setup/projects/payments-api/scopes/remove",
            &[("csrf", &csrf), ("service", "api")],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(
        tandem_app::org::service_scopes(&store, "payments-api")
            .await
            .unwrap()
            .is_empty()
    );
    let again = b
        .post(
            "/setup/projects/payments-api/scopes/remove",
            &[("csrf", &csrf), ("service", "api")],
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.body);
    assert!(again.body.contains("has no scope"), "{}", again.body);

    // The GitHub webhook secret: generated on the server, shown once with
    // the payload URL built from the public URL, then only its date.
    let page = b.get("/setup/projects/payments-api").await;
    assert!(element(&page.body, "webhook-github").contains("not set"));
    let made = b
        .post(
            "/setup/projects/payments-api/webhook-secrets/github",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let secret = code_text(&made.body, "new-secret");
    assert_eq!(secret.len(), 64, "{secret}");
    assert_eq!(
        code_text(&made.body, "payload-url"),
        format!("{}/webhooks/github", app.base)
    );
    assert!(made.body.contains("application/json"));
    assert!(made.body.contains("Deployment statuses"));
    assert_eq!(
        store.webhook_secret(p.id, Provider::Github).await.unwrap(),
        Some(secret.clone())
    );
    let later = b.get("/setup/projects/payments-api").await;
    assert!(!later.body.contains(&secret), "the secret is shown once");
    assert!(element(&later.body, "webhook-github").contains("set on "));
    assert!(element(&later.body, "webhook-gitlab").contains("not set"));
    let unknown = b
        .post(
            "/setup/projects/payments-api/webhook-secrets/api",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(unknown.status, 404);

    // GitHub's delivery signed with that secret is taken.
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../domain/tests/fixtures/github/deployment_status_success.json"
    ))
    .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    app.send(
        app.request(Method::POST, "/webhooks/github")
            .header("content-type", "application/json")
            .header("x-github-event", "deployment_status")
            .header("x-github-delivery", "setup-1")
            .header("x-hub-signature-256", signature)
            .body(body),
    )
    .await
    .ok(200);
    let d = store.get_deployment("github", "987654321").await.unwrap();
    assert_eq!(d.expect("the deployment").service, "payments");

    // A KPI series and a point.
    let made = b
        .post(
            "/setup/kpis",
            &[
                ("csrf", &csrf),
                ("key", "checkout-conversion"),
                ("name", "Checkout conversion"),
                ("unit", "%"),
                ("team", "payments"),
                ("direction", "up"),
                ("audience", "business"),
            ],
        )
        .await;
    assert_eq!(
        made.location.as_deref(),
        Some("/setup/kpis?done=series-created"),
        "{}",
        made.body
    );
    let m = store
        .get_metric_by_key("checkout-conversion")
        .await
        .unwrap();
    assert_eq!(m.team_id, Some(t.id));
    let point = b
        .post(
            "/setup/kpis/points",
            &[
                ("csrf", &csrf),
                ("series", "checkout-conversion"),
                ("date", "2026-11-02"),
                ("value", "2.75"),
            ],
        )
        .await;
    assert_eq!(
        point.location.as_deref(),
        Some("/setup/kpis?done=point-added"),
        "{}",
        point.body
    );
    let points = app
        .get(
            &app.stakeholder,
            "/api/v1/metrics/checkout-conversion/points",
        )
        .await
        .ok(200)
        .body;
    assert_eq!(
        points,
        json!([{"metric_id": m.id, "at": "2026-11-02T00:00:00Z", "value": 2.75}])
    );
    let kpis = b.get("/setup/kpis?done=point-added").await;
    assert!(kpis.body.contains("Point added."));
    assert!(kpis.body.contains("2.75 % on 2 Nov 2026"), "{}", kpis.body);

    // The overview of set-up lists what was made.
    let setup = b.get("/setup").await;
    assert!(setup.body.contains("href=\"/setup/projects/payments-api\""));
    assert!(setup.body.contains("href=\"/teams/payments\""));
}

async fn set_up_refusals_show_next_to_their_field_and_store_nothing(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let store = app.store().await;
    let mut b = Browser::new(&app);
    b.sign_in("admin", ADMIN_PASSWORD).await;
    let csrf = csrf_of(&b.get("/setup").await.body);

    // Without the form's token: refused before anything is read.
    let forged = b
        .post("/setup/teams", &[("key", "payments"), ("name", "Payments")])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(team_count(&store).await, 0);

    // Field errors in words, what was typed kept.
    let bad = b
        .post(
            "/setup/teams",
            &[
                ("csrf", &csrf),
                ("key", "Pay Ments"),
                ("name", " "),
                ("timezone", "Mars Base"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(element(&bad.body, "team-key-error").contains("is not a valid key"));
    assert!(bad.body.contains("id=\"team-name-error\""));
    assert!(
        element(&bad.body, "team-timezone-error").contains("IANA time zone"),
        "{}",
        bad.body
    );
    assert_eq!(input_value(&bad.body, "key"), "Pay Ments");
    assert_eq!(team_count(&store).await, 0);
    let ok = [
        ("csrf", csrf.as_str()),
        ("key", "payments"),
        ("name", "Payments"),
        ("timezone", ""),
    ];
    assert_eq!(b.post("/setup/teams", &ok).await.status, 303);
    let taken = b.post("/setup/teams", &ok).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(
        taken.body.contains("id=\"team-key-error\""),
        "{}",
        taken.body
    );
    assert_eq!(team_count(&store).await, 1);
    assert_eq!(
        store.get_team_by_key("payments").await.unwrap().timezone,
        "UTC"
    );
    let missing = b.get("/setup/teams/nope").await;
    assert_eq!(missing.status, 404);

    // Editing: a bad time zone changes nothing.
    let edit = b
        .post(
            "/setup/teams/payments",
            &[
                ("csrf", &csrf),
                ("name", "Renamed"),
                ("timezone", "nowhere"),
            ],
        )
        .await;
    assert_eq!(edit.status, 422);
    assert!(edit.body.contains("id=\"edit-timezone-error\""));
    assert_eq!(input_value(&edit.body, "name"), "Renamed");
    assert_eq!(
        store.get_team_by_key("payments").await.unwrap().name,
        "Payments"
    );

    // Members: no such user, not a member.
    let ghost = b
        .post(
            "/setup/teams/payments/members",
            &[("csrf", &csrf), ("username", "ghost")],
        )
        .await;
    assert_eq!(ghost.status, 422);
    assert!(element(&ghost.body, "member-username-error").contains("ghost"));
    let none = b
        .post(
            "/setup/teams/payments/members",
            &[("csrf", &csrf), ("username", "")],
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(element(&none.body, "member-username-error").contains("Choose a user"));
    let not_member = b
        .post(
            "/setup/teams/payments/members/remove",
            &[("csrf", &csrf), ("username", "admin")],
        )
        .await;
    assert_eq!(not_member.status, 404);
    assert!(not_member.body.contains("is not a member of team payments"));

    // Projects: a repository listed twice, a bad key.
    let twice = b
        .post(
            "/setup/teams/payments/projects",
            &[
                ("csrf", &csrf),
                ("key", "payments-api"),
                ("name", "Payments API"),
                ("repositories", "acme/payments\nacme/payments"),
                ("services", "payments"),
            ],
        )
        .await;
    assert_eq!(twice.status, 422, "{}", twice.body);
    assert!(element(&twice.body, "project-repositories-error").contains("listed twice"));
    assert!(
        twice
            .body
            .contains("acme/payments\nacme/payments</textarea>")
    );
    let p = store.get_project_by_key("payments-api").await;
    assert!(p.is_err(), "nothing stored: {p:?}");
    b.post(
        "/setup/teams/payments/projects",
        &[
            ("csrf", &csrf),
            ("key", "payments-api"),
            ("name", "Payments API"),
            ("repositories", "acme/payments"),
            ("services", "payments"),
        ],
    )
    .await;
    let emptied = b
        .post(
            "/setup/projects/payments-api",
            &[
                ("csrf", &csrf),
                ("name", ""),
                ("repositories", ""),
                ("services", ""),
            ],
        )
        .await;
    assert_eq!(emptied.status, 422);
    assert!(emptied.body.contains("id=\"edit-name-error\""));
    let p = store.get_project_by_key("payments-api").await.unwrap();
    assert_eq!((p.name.as_str(), p.repositories.len()), ("Payments API", 1));

    // Scopes: only the project's services and repositories.
    let stranger = b
        .post(
            "/setup/projects/payments-api/scopes",
            &[
                ("csrf", &csrf),
                ("service", "billing"),
                ("repo", "acme/other"),
                ("path_prefixes", "src/"),
            ],
        )
        .await;
    assert_eq!(stranger.status, 422, "{}", stranger.body);
    assert!(element(&stranger.body, "scope-service-error").contains("is not a service of project"));
    assert!(element(&stranger.body, "scope-repo-error").contains("is not a repository of project"));
    assert!(
        tandem_app::org::service_scopes(&store, "payments-api")
            .await
            .unwrap()
            .is_empty()
    );

    // KPI series: a reserved key, an unknown team; points: not a number.
    let reserved = b
        .post(
            "/setup/kpis",
            &[
                ("csrf", &csrf),
                ("key", "dora"),
                ("name", "DORA"),
                ("unit", ""),
                ("team", ""),
                ("direction", "up"),
                ("audience", "team"),
            ],
        )
        .await;
    assert_eq!(reserved.status, 422, "{}", reserved.body);
    assert!(element(&reserved.body, "series-key-error").contains("reserved"));
    let no_team = b
        .post(
            "/setup/kpis",
            &[
                ("csrf", &csrf),
                ("key", "nps"),
                ("name", "NPS"),
                ("team", "nope"),
                ("direction", "sideways"),
                ("audience", "business"),
            ],
        )
        .await;
    assert_eq!(no_team.status, 422, "{}", no_team.body);
    assert!(no_team.body.contains("id=\"series-team-error\""));
    assert!(no_team.body.contains("id=\"series-direction-error\""));
    assert!(store.get_metric_by_key("nps").await.is_err());
    b.post(
        "/setup/kpis",
        &[
            ("csrf", &csrf),
            ("key", "nps"),
            ("name", "NPS"),
            ("direction", "up"),
            ("audience", "business"),
        ],
    )
    .await;
    let nan = b
        .post(
            "/setup/kpis/points",
            &[
                ("csrf", &csrf),
                ("series", "nps"),
                ("date", "2026-13-01"),
                ("value", "NaN"),
            ],
        )
        .await;
    assert_eq!(nan.status, 422, "{}", nan.body);
    assert!(nan.body.contains("id=\"point-date-error\""));
    assert!(element(&nan.body, "point-value-error").contains("is not a number"));
    let points = app
        .get(&app.stakeholder, "/api/v1/metrics/nps/points")
        .await
        .ok(200)
        .body;
    assert_eq!(points, json!([]));
}

async fn set_up_pages_need_the_manager_role(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let store = app.store().await;
    app.team("payments").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": store.get_team_by_key("payments").await.unwrap().id,
               "key": "payments-api", "name": "Payments API", "repositories": ["acme/payments"]}),
    )
    .await;
    user(&app, "lee", "stakeholder").await;
    user(&app, "sam", "member").await;
    user(&app, "maria", "manager").await;
    let pages = [
        "/setup",
        "/setup/teams/payments",
        "/setup/teams/payments/focus",
        "/setup/projects/payments-api",
        "/setup/kpis",
    ];
    for who in ["lee", "sam"] {
        let mut b = Browser::new(&app);
        b.sign_in(who, PASSWORD).await;
        let home = b.get("/").await;
        assert!(
            !home.body.contains("href=\"/setup\""),
            "{who} sees no Set up link"
        );
        let csrf = csrf_of(&home.body);
        for path in pages {
            let got = b.get(path).await;
            assert_eq!(got.status, 403, "{who} {path}");
            assert!(got.body.contains("needs the manager role"), "{}", got.body);
        }
        for (path, form) in [
            ("/setup/teams", vec![("key", "growth"), ("name", "Growth")]),
            (
                "/setup/teams/payments",
                vec![("name", "Taken over"), ("timezone", "UTC")],
            ),
            ("/setup/teams/payments/members", vec![("username", who)]),
            (
                "/setup/teams/payments/projects",
                vec![("key", "x"), ("name", "X")],
            ),
            ("/setup/projects/payments-api", vec![("name", "X")]),
            (
                "/setup/projects/payments-api/scopes",
                vec![("service", "x")],
            ),
            (
                "/setup/projects/payments-api/webhook-secrets/github",
                vec![],
            ),
            (
                "/setup/kpis",
                vec![
                    ("key", "x"),
                    ("name", "X"),
                    ("direction", "up"),
                    ("audience", "team"),
                ],
            ),
            ("/setup/kpis/points", vec![("series", "x"), ("value", "1")]),
            (
                "/setup/teams/payments/focus/policy",
                vec![("timezone", "UTC"), ("evening_cutoff", "20:00")],
            ),
            (
                "/setup/teams/payments/focus/feeds",
                vec![("source", "https://calendar.example/x.ics")],
            ),
            (
                "/setup/teams/payments/focus/feeds/remove",
                vec![("feed", "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f")],
            ),
            ("/setup/teams/payments/focus/feeds/refresh", vec![]),
        ] {
            let mut form = form;
            form.push(("csrf", &csrf));
            let got = b.post(path, &form).await;
            assert_eq!(got.status, 403, "{who} POST {path}");
        }
    }
    assert_eq!(team_count(&store).await, 1);
    let t = store.get_team_by_key("payments").await.unwrap();
    assert_eq!(t.name, "PAYMENTS");
    assert!(store.team_members(t.id).await.unwrap().is_empty());
    assert!(store.team_policy(t.id).await.unwrap().is_none());
    assert!(
        store
            .list_calendar_feeds(Some(t.id))
            .await
            .unwrap()
            .is_empty()
    );
    let p = store.get_project_by_key("payments-api").await.unwrap();
    assert_eq!(
        store.webhook_secret(p.id, Provider::Github).await.unwrap(),
        None
    );

    // A manager sets up everything but the webhook secrets (admins, as in the API).
    let mut b = Browser::new(&app);
    b.sign_in("maria", PASSWORD).await;
    let home = b.get("/").await;
    assert!(home.body.contains("href=\"/setup\""));
    for path in pages {
        assert_eq!(b.get(path).await.status, 200, "{path}");
    }
    let page = b.get("/setup/projects/payments-api").await;
    assert!(
        page.body
            .contains("An admin generates the webhook secrets.")
    );
    assert!(!page.body.contains("id=\"generate-github\""));
    let csrf = csrf_of(&page.body);
    let refused = b
        .post(
            "/setup/projects/payments-api/webhook-secrets/github",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        store.webhook_secret(p.id, Provider::Github).await.unwrap(),
        None
    );
    let made = b
        .post(
            "/setup/teams",
            &[("csrf", &csrf), ("key", "growth"), ("name", "Growth")],
        )
        .await;
    assert_eq!(made.status, 303);
    assert_eq!(team_count(&store).await, 2);
}
