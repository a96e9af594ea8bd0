//! Signing in and out over HTTP: sessions, cookies, the second factor, CSRF,
//! lockout, throttling, disabled users, scopes and the audit log.

use crate::common::*;
use crate::support::*;
use gerbang_core::user::{Role, Scope, Username};

on_both_backends!(
    a_viewer_signs_in_and_out,
    a_checker_needs_a_fresh_code,
    forged_forms_are_refused_and_store_nothing,
    wrong_passwords_lock_the_user,
    a_disabled_user_is_signed_out,
    sign_ins_are_throttled_per_address,
    behind_a_proxy_the_forwarded_address_counts,
    a_merchant_user_sees_its_own_scope_only,
);

async fn a_viewer_signs_in_and_out(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let viewer = user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let mut b = Browser::new(&gw);

    // Not signed in: every page sends the browser to the sign-in form.
    for path in ["/dashboard", "/dashboard/audit"] {
        let page = b.get(path).await;
        assert_eq!(
            (page.status, page.location.as_deref()),
            (303, Some("/dashboard/sign-in"))
        );
    }
    let form = b.get("/dashboard/sign-in").await;
    assert_eq!(form.status, 200);
    for header in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
    ] {
        assert!(form.headers.contains_key(header), "{header}");
    }
    assert_eq!(form.headers["cache-control"], "no-store");

    let signed = b.sign_in("olga", PASSWORD).await;
    assert_eq!(
        (signed.status, signed.location.as_deref()),
        (303, Some("/dashboard"))
    );
    let session = signed
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-gerbang_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    let token = b.cookies["__Host-gerbang_session"].clone();
    // The token is not what is stored: its hash is the record's key.
    assert!(gw
        .app()
        .store
        .record("dashboard.session", &token)
        .await
        .unwrap()
        .is_none());

    let home = b.get("/dashboard").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("olga") && home.body.contains("viewer"),
        "{}",
        home.body
    );
    let rows = audit_rows(&mut b).await;
    assert_eq!(rows[0].0, "olga");
    assert_eq!(rows[0].1, "sign_in");

    let csrf = home.hidden("csrf");
    let out = b.post("/dashboard/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(
        (out.status, out.location.as_deref()),
        (303, Some("/dashboard/sign-in"))
    );
    assert!(!b.cookies.contains_key("__Host-gerbang_session"));
    // The old cookie no longer opens anything.
    let mut replay = Browser::new(&gw);
    replay
        .cookies
        .insert("__Host-gerbang_session".into(), token);
    assert_eq!(replay.get("/dashboard").await.status, 303);

    let mut again = Browser::signed_in(&gw, &viewer).await;
    let actions: Vec<String> = audit_rows(&mut again)
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(actions, ["sign_in", "sign_out", "sign_in"]);
    gw.stop().await;
}

async fn a_checker_needs_a_fresh_code(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let checker = user(&gw, "chen", Scope::Operator, Role::Checker).await;
    let secret = checker.totp.clone().expect("a checker gets a TOTP secret");
    let mut b = Browser::new(&gw);
    let page = b.sign_in("chen", PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/dashboard/sign-in/code"));
    // Half signed in: the pages still wait for the code.
    let home = b.get("/dashboard").await;
    assert_eq!(
        (home.status, home.location.as_deref()),
        (303, Some("/dashboard/sign-in/code"))
    );

    let now = unix_now();
    let wrong = if totp_at(&secret, now) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = b.give_code(wrong).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    let code = totp_at(&secret, now);
    let page = b.give_code(&code).await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/dashboard"))
    );
    assert_eq!(b.get("/dashboard").await.status, 200);

    // The same code does not open a second session.
    let mut other = Browser::new(&gw);
    other.sign_in("chen", PASSWORD).await;
    let replayed = other.give_code(&code).await;
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert_eq!(other.get("/dashboard").await.status, 303);

    let rows = audit_rows(&mut b).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        actions,
        [
            "sign_in_refused",
            "password_accepted",
            "sign_in",
            "sign_in_refused",
            "password_accepted"
        ]
    );
    assert_eq!(rows[0].2, "wrong code");
    gw.stop().await;
}

async fn forged_forms_are_refused_and_store_nothing(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let viewer = user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let audit_before = gw
        .app()
        .store
        .records("dashboard.audit", None, None, 100)
        .await
        .unwrap();

    // No token, a token not matching the cookie, another site's Origin.
    let mut b = Browser::new(&gw);
    let fields =
        |csrf: &'static str| [("csrf", csrf), ("username", "olga"), ("password", PASSWORD)];
    assert_eq!(b.post("/dashboard/sign-in", &fields("")).await.status, 403);
    let form = b.get("/dashboard/sign-in").await;
    let csrf = form.hidden("csrf");
    assert_eq!(
        b.post("/dashboard/sign-in", &fields("not-the-token"))
            .await
            .status,
        403
    );
    let cross = b
        .post_from(
            "/dashboard/sign-in",
            &[
                ("csrf", &csrf),
                ("username", "olga"),
                ("password", PASSWORD),
            ],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(cross.status, 403);
    assert!(!b.cookies.contains_key("__Host-gerbang_session"));
    let audit_after = gw
        .app()
        .store
        .records("dashboard.audit", None, None, 100)
        .await
        .unwrap();
    assert_eq!(
        audit_before.len(),
        audit_after.len(),
        "a refused form is not even audited"
    );
    let sessions = gw
        .app()
        .store
        .records("dashboard.session", None, None, 100)
        .await
        .unwrap();
    assert!(sessions.is_empty());

    // Signed in, a sign-out without the session's token changes nothing.
    let mut b = Browser::signed_in(&gw, &viewer).await;
    assert_eq!(
        b.post("/dashboard/sign-out", &[("csrf", "guess")])
            .await
            .status,
        403
    );
    assert_eq!(b.post("/dashboard/sign-out", &[]).await.status, 403);
    assert_eq!(b.get("/dashboard").await.status, 200, "still signed in");
    gw.stop().await;
}

async fn wrong_passwords_lock_the_user(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let mut b = Browser::new(&gw);
    // An unknown name and a wrong password read the same.
    let unknown = b.sign_in("nobody", PASSWORD).await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.body.contains("Wrong username or password."));
    for attempt in 1..=gerbang_app::users::signin::MAX_FAILED {
        let page = b.sign_in("olga", "not the password at all").await;
        if attempt < gerbang_app::users::signin::MAX_FAILED {
            assert_eq!(page.status, 401, "attempt {attempt}");
            assert!(page.body.contains("Wrong username or password."));
        } else {
            assert_eq!(page.status, 403, "attempt {attempt}");
            assert!(page.body.contains("locked until"), "{}", page.body);
        }
    }
    // Locked: the right password does not help.
    let page = b.sign_in("olga", PASSWORD).await;
    assert_eq!(page.status, 403);
    assert!(!b.cookies.contains_key("__Host-gerbang_session"));
    // `gerbang users reset-totp` lifts it.
    gerbang_app::users::reset_totp(gw.app(), &Username::parse("olga").unwrap())
        .await
        .unwrap();
    let page = b.sign_in("olga", PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/dashboard"));
    let rows = audit_rows(&mut b).await;
    assert_eq!(rows[0].1, "sign_in");
    assert_eq!(
        rows[1],
        ("olga".into(), "sign_in_refused".into(), "locked".into())
    );
    assert_eq!(rows[2].2, "wrong password; locked");
    assert!(rows
        .iter()
        .any(|r| r.0 == "nobody" && r.2 == "no such user"));
    gw.stop().await;
}

async fn a_disabled_user_is_signed_out(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let viewer = user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let mut b = Browser::signed_in(&gw, &viewer).await;
    gerbang_app::users::disable(gw.app(), &Username::parse("olga").unwrap())
        .await
        .unwrap();
    assert_eq!(b.get("/dashboard").await.status, 303);
    let page = b.sign_in("olga", PASSWORD).await;
    assert_eq!(page.status, 401);
    gw.stop().await;
}

async fn sign_ins_are_throttled_per_address(db: TestDatabase) {
    let mut config = test_config(&db);
    config.dashboard.sign_ins_per_minute = 3;
    let gw = Gateway::start(config).await;
    user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let mut b = Browser::new(&gw);
    for _ in 0..3 {
        assert_eq!(b.sign_in("olga", "wrong password here").await.status, 401);
    }
    let page = b.sign_in("olga", PASSWORD).await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("Too many sign-in attempts"));
    // Throttled attempts never reached the user: it is not locked by them.
    let (olga, _) = gerbang_app::users::load(gw.app(), &Username::parse("olga").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(olga.failed_sign_ins, 3);
    gw.stop().await;
}

async fn behind_a_proxy_the_forwarded_address_counts(db: TestDatabase) {
    let mut config = test_config(&db);
    config.dashboard.sign_ins_per_minute = 2;
    config.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let gw = Gateway::start(config).await;
    user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let mut a = Browser::new(&gw);
    a.forwarded_for = Some("198.51.100.1, 203.0.113.7".into());
    for _ in 0..2 {
        assert_eq!(a.sign_in("olga", "wrong password here").await.status, 401);
    }
    assert_eq!(a.sign_in("olga", PASSWORD).await.status, 429);
    // Another client behind the same proxy has its own share.
    let mut b = Browser::new(&gw);
    b.forwarded_for = Some("203.0.113.8".into());
    assert_eq!(b.sign_in("olga", PASSWORD).await.status, 303);
    let rows = audit_rows(&mut b).await;
    let from: Vec<String> = gw
        .app()
        .store
        .records("dashboard.audit", None, None, 10)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.data
                .decode::<gerbang_core::user::AuditEntry>()
                .unwrap()
                .from
        })
        .collect();
    assert_eq!(
        from,
        ["203.0.113.8", "203.0.113.7", "203.0.113.7"],
        "{rows:?}"
    );
    gw.stop().await;

    // Not a listed proxy: the header is whatever a client wrote, and is ignored.
    let db = gerbang_store::testing::sqlite_database();
    let gw = Gateway::start(test_config(&db)).await;
    user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let mut c = Browser::new(&gw);
    c.forwarded_for = Some("203.0.113.9".into());
    assert_eq!(c.sign_in("olga", PASSWORD).await.status, 303);
    let rows = gw
        .app()
        .store
        .records("dashboard.audit", None, None, 10)
        .await
        .unwrap();
    let entry: gerbang_core::user::AuditEntry = rows[0].data.decode().unwrap();
    assert_eq!(entry.from, "127.0.0.1");
    gw.stop().await;
}

async fn a_merchant_user_sees_its_own_scope_only(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let ops = user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let shop = user(
        &gw,
        "mira@shop",
        Scope::Merchant("99999".into()),
        Role::Viewer,
    )
    .await;
    let partner = user(&gw, "pat", Scope::Partner(DEMO_VA.into()), Role::Maker).await;
    // A scope that names no principal is refused.
    let nobody = gerbang_app::users::add(
        gw.app(),
        Username::parse("ghost").unwrap(),
        Scope::Merchant("12345".into()),
        Role::Viewer,
        gerbang_core::mask::Secret::new(PASSWORD),
    )
    .await;
    assert!(nobody.is_err());

    Browser::signed_in(&gw, &ops).await;
    Browser::signed_in(&gw, &partner).await;
    let mut m = Browser::signed_in(&gw, &shop).await;
    let home = m.get("/dashboard").await;
    assert!(home.body.contains("merchant 99999"), "{}", home.body);
    let seen = audit_rows(&mut m).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "mira@shop");
    let mut o = Browser::signed_in(&gw, &ops).await;
    let all = audit_rows(&mut o).await;
    assert_eq!(all.len(), 4, "{all:?}");
    gw.stop().await;
}
