//! Developer settings over HTTP: a merchant's admin sets its notification URL
//! and syntax, tests the URL through the notifier and sees the receiver's answer,
//! rotates its password with a fresh code and sees it once; a partner's admin
//! rotates its secrets; viewers only look; bad URLs and forged forms change nothing.

use crate::common::*;
use crate::support::*;
use gerbang_app::principals::NoticeFormat;
use gerbang_app::settings;
use gerbang_core::user::{Role, Scope};

on_both_backends!(developer_settings_are_changed_tested_and_rotated);

async fn post_settings(b: &mut Browser, path: &str, fields: &[(&str, &str)]) -> Page {
    let csrf = b.get("/dashboard/settings").await.hidden("csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post(path, &all).await
}

async fn developer_settings_are_changed_tested_and_rotated(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let receiver = Receiver::start(Behaviour::Body(200, "{\"response_code\":\"00\"}")).await;
    let admin = user(&gw, "ana", Scope::Merchant("99999".into()), Role::Admin).await;
    let viewer = user(&gw, "vic", Scope::Merchant("99999".into()), Role::Viewer).await;
    let partner_admin = user(&gw, "pia", Scope::Partner(DEMO_VA.into()), Role::Admin).await;
    let (before, _) = settings::merchant(gw.app(), "99999").await.unwrap();

    let mut a = Browser::signed_in(&gw, &admin).await;
    // Naming another merchant changes nothing: a merchant's users see their own.
    let page = a.get("/dashboard/settings?merchant=12345").await;
    assert!(page.body.contains("Merchant 99999"), "{}", page.body);

    // Bad URLs are refused with the reason; nothing is stored.
    for bad in ["ftp://example.com/x", "example.com/notify", "https://"] {
        let refused = post_settings(
            &mut a,
            "/dashboard/settings/merchant",
            &[
                ("notification_url", bad),
                ("return_url", ""),
                ("format", "json"),
            ],
        )
        .await;
        assert_eq!(refused.status, 400, "{bad}");
    }
    let bad_format = post_settings(
        &mut a,
        "/dashboard/settings/merchant",
        &[
            ("notification_url", ""),
            ("return_url", ""),
            ("format", "yaml"),
        ],
    )
    .await;
    assert_eq!(bad_format.status, 400);
    assert_eq!(
        settings::merchant(gw.app(), "99999")
            .await
            .unwrap()
            .0
            .notification_url,
        before.notification_url
    );

    let url = receiver.url();
    let saved = post_settings(
        &mut a,
        "/dashboard/settings/merchant",
        &[
            ("notification_url", &url),
            ("return_url", "https://shop.example/thanks"),
            ("format", "xml"),
        ],
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let (m, _) = settings::merchant(gw.app(), "99999").await.unwrap();
    assert_eq!(m.notification_url.as_deref(), Some(url.as_str()));
    assert_eq!(m.return_url.as_deref(), Some("https://shop.example/thanks"));
    assert_eq!(m.notification_format, NoticeFormat::Xml);

    // The test notification goes through the notifier; the page shows the answer.
    let tested = post_settings(&mut a, "/dashboard/settings/test", &[]).await;
    assert_eq!(tested.status, 200);
    assert!(
        tested.body.contains("The receiver answered HTTP 200"),
        "{}",
        tested.body
    );
    assert!(
        tested.body.contains("response_code"),
        "the answer's start is shown"
    );
    assert_eq!(receiver.received().len(), 1);

    // A new password, with the next code: shown once, stored, not shown again.
    let wrong = post_settings(&mut a, "/dashboard/settings/rotate", &[("code", "000000")]).await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let (unchanged, _) = settings::merchant(gw.app(), "99999").await.unwrap();
    assert_eq!(unchanged.password, before.password);
    let code = totp_at(admin.totp.as_ref().unwrap(), unix_now() + 30);
    let rotated = post_settings(&mut a, "/dashboard/settings/rotate", &[("code", &code)]).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let shown = rotated
        .body
        .split("data-testid=\"new-password\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the new password")
        .to_string();
    let (after, _) = settings::merchant(gw.app(), "99999").await.unwrap();
    assert_eq!(after.password.expose(), shown);
    assert_ne!(after.password, before.password);
    assert!(
        !a.get("/dashboard/settings").await.body.contains(&shown),
        "shown once"
    );

    // A viewer sees, and changes nothing.
    let mut v = Browser::signed_in(&gw, &viewer).await;
    let seen = v.get("/dashboard/settings").await;
    assert!(seen.body.contains(&url) && !seen.body.contains("/dashboard/settings/rotate"));
    let refused = post_settings(
        &mut v,
        "/dashboard/settings/merchant",
        &[
            ("notification_url", ""),
            ("return_url", ""),
            ("format", "json"),
        ],
    )
    .await;
    assert_eq!(refused.status, 403);
    let forged = a
        .post(
            "/dashboard/settings/merchant",
            &[
                ("csrf", "guess"),
                ("notification_url", ""),
                ("format", "json"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        settings::merchant(gw.app(), "99999")
            .await
            .unwrap()
            .0
            .notification_url
            .as_deref(),
        Some(url.as_str())
    );

    // A partner's admin rotates its secrets; later views mask them.
    let (p_before, _) = settings::partner(gw.app(), DEMO_VA).await.unwrap();
    let mut p = Browser::signed_in(&gw, &partner_admin).await;
    let view = p.get("/dashboard/settings").await;
    assert!(
        !view.body.contains(p_before.client_secret.expose()),
        "secrets are masked"
    );
    let code = totp_at(partner_admin.totp.as_ref().unwrap(), unix_now() + 30);
    let rotated = post_settings(&mut p, "/dashboard/settings/rotate", &[("code", &code)]).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let (p_after, _) = settings::partner(gw.app(), DEMO_VA).await.unwrap();
    assert_ne!(p_after.faspay_secret, p_before.faspay_secret);
    assert_eq!(p_after.faspay_key, p_before.faspay_key);
    assert!(rotated.body.contains(p_after.faspay_secret.expose()));
    assert!(!p
        .get("/dashboard/settings")
        .await
        .body
        .contains(p_after.faspay_secret.expose()));

    let actions: Vec<String> = audit_rows(&mut a).await.into_iter().map(|r| r.1).collect();
    for action in [
        "settings_changed",
        "test_notification_sent",
        "credentials_rotated",
        "confirmation_refused",
    ] {
        assert!(
            actions.iter().any(|x| x == action),
            "{action} in {actions:?}"
        );
    }
    gw.stop().await;
}
