//! `POST /v1.0/access-token/b2b`: a token for a correctly signed request, and
//! each refusal with its own code.

use crate::client::rsa_sign;
use crate::common::*;
use crate::fixture::{self, ASYMMETRIC_ID};

on_both_backends!(issues_tokens_and_refuses_each_bad_request);

async fn issues_tokens_and_refuses_each_bad_request(db: TestDatabase) {
    let s = fixture::start(db).await;
    let p = &s.standard;
    let token = p.get_token().await;
    assert!(!token.is_empty() && !token.contains(':'));

    let (good, body) = p.token_request().await;
    let reply = p.send("/v1.0/access-token/b2b", &good, body.clone()).await;
    reply.expect("2007300");
    assert_eq!(reply.message(), "Successful");
    let stamp = reply
        .timestamp
        .as_deref()
        .expect("X-TIMESTAMP on the answer");
    assert!(stamp.ends_with("+07:00") && stamp.len() == 25, "{stamp}");

    let without = |name: &str| -> Vec<(String, String)> {
        good.iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .cloned()
            .collect()
    };
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        let mut h = without(name);
        h.push((name.to_string(), value.to_string()));
        h
    };
    for (headers, body, code, message) in [
        (
            without("X-CLIENT-KEY"),
            body.clone(),
            "4007302",
            "Invalid Mandatory Field [X-CLIENT-KEY]",
        ),
        (
            without("X-TIMESTAMP"),
            body.clone(),
            "4007302",
            "Invalid Mandatory Field [X-TIMESTAMP]",
        ),
        (
            with("X-TIMESTAMP", "17-12-2020 10:55"),
            body.clone(),
            "4007301",
            "Invalid Field Format [X-TIMESTAMP]",
        ),
        (
            without("X-SIGNATURE"),
            body.clone(),
            "4007302",
            "Invalid Mandatory Field [X-SIGNATURE]",
        ),
        (
            with("X-CLIENT-KEY", "99999"),
            body.clone(),
            "4017300",
            "Unauthorized. [Unknown client]",
        ),
        (
            with("X-SIGNATURE", &rsa_sign(&p.key, "something else")),
            body.clone(),
            "4017300",
            "Unauthorized. [Signature]",
        ),
        (
            good.clone(),
            r#"{"grantType":"password"}"#.to_string(),
            "4007301",
            "Invalid Field Format [grantType]",
        ),
        (
            good.clone(),
            r#"{"additionalInfo":{}}"#.to_string(),
            "4007302",
            "Invalid Mandatory Field [grantType]",
        ),
        (
            good.clone(),
            r#"{"grantType":"#.to_string(),
            "4007300",
            "Bad Request",
        ),
    ] {
        let reply = p.send("/v1.0/access-token/b2b", &headers, body).await;
        reply.expect(code);
        assert_eq!(reply.message(), message);
    }

    // A timestamp ten minutes off is refused, though its signature is good.
    let now = crate::client::gateway_now(&s.api).await;
    let stale = crate::client::jakarta(now - time::Duration::minutes(10));
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("X-TIMESTAMP".to_string(), stale.clone()),
        ("X-CLIENT-KEY".to_string(), ASYMMETRIC_ID.to_string()),
        (
            "X-SIGNATURE".to_string(),
            rsa_sign(&p.key, &format!("{ASYMMETRIC_ID}|{stale}")),
        ),
    ];
    let reply = s
        .faspay
        .send("/v1.0/access-token/b2b", &headers, body)
        .await;
    reply.expect("4017300");
    assert_eq!(reply.message(), "Unauthorized. [Timestamp]");
    s.stop().await;
}
