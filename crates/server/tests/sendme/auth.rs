//! Authentication: access tokens and the four `faspay-*` headers.

use crate::client::*;
use crate::common::*;
use crate::fixture::{self, Sandbox};
use serde_json::Value;

/// A balance inquiry signed with `token` at `ts`, as the Java SDK sends it.
fn balance_request(s: &Sandbox, ts: &str, token: &str) -> Request {
    s.client
        .query_request(Style::Java, Query::Balance, ts, token, fixture::VA, &[])
}

async fn tokens_are_issued_for_get_and_post(db: TestDatabase) {
    let s = fixture::start(db).await;
    let ts = s.client.timestamp().await;
    let body = Body::new().with("virtual_account", fixture::VA).to_json();

    // Java: a bodiless GET; Python and PHP: a POST with the next service's body.
    let mut tokens = Vec::new();
    for style in STYLES {
        let request = s
            .client
            .token_request(style, &ts, Query::Balance.path(), Some(&body));
        let reply = s.client.send(&request).await;
        assert!(
            reply.content_type.starts_with("application/json"),
            "{style:?}: {reply:?}"
        );
        let answer = reply.expect(200);
        assert_token_answer(&answer);
        // The documented types on the wire: strings, not numbers.
        for field in [
            "access_token",
            "expired_in",
            "status",
            "message",
            "response_code",
            "response_desc",
        ] {
            assert!(answer[field].is_string(), "{style:?}: {field} in {answer}");
        }
        tokens.push(answer["access_token"].as_str().unwrap().to_string());
    }
    // PHP's later calls: a GET that carries the body.
    let mut get_with_body =
        s.client
            .token_request(Style::Php, &ts, Query::Balance.path(), Some(&body));
    get_with_body.method = reqwest::Method::GET;
    let answer = s.client.exchange(&get_with_body).await;
    assert_token_answer(&answer);
    tokens.push(answer["access_token"].as_str().unwrap().to_string());
    // The token request signed with the tokens path itself (the doc's reading).
    let mut own_path = s.client.token_request(Style::Java, &ts, TOKENS, None);
    own_path.set_header(
        "faspay-signature",
        &s.client.creds.token_signature(TOKENS, &ts),
    );
    assert_token_answer(&s.client.exchange(&own_path).await);

    // Every token is new, and all of them are valid at once, in any order.
    let distinct: std::collections::HashSet<&String> = tokens.iter().collect();
    assert_eq!(distinct.len(), tokens.len(), "{tokens:?}");
    for token in tokens.iter().rev() {
        let answer = s.client.exchange(&balance_request(&s, &ts, token)).await;
        assert_success(&answer);
        assert_eq!(answer["virtual_account"], fixture::VA);
    }
    // And again, later: using a token does not use it up.
    let later = s.client.timestamp().await;
    for token in &tokens {
        assert_success(&s.client.exchange(&balance_request(&s, &later, token)).await);
    }
    s.stop().await;
}

/// Sends `request` as is (it must pass), then each broken variant (each must be
/// refused with the Unauthorized envelope), then as is again.
async fn refused_variants(
    s: &Sandbox,
    what: &str,
    request: &Request,
    variants: Vec<(&str, Request)>,
) {
    let good = s.client.exchange(request).await;
    assert_eq!(
        good["status"], "2",
        "{what}: the control request failed: {good}"
    );
    for (name, variant) in variants {
        let answer = s.client.exchange(&variant).await;
        assert_unauthorized(&answer);
        assert!(
            answer.get("access_token").is_none() && answer.get("balance").is_none(),
            "{what}, {name}: leaked {answer}"
        );
    }
    let again = s.client.exchange(request).await;
    assert_eq!(
        again["status"], "2",
        "{what}: the control request failed: {again}"
    );
}

fn with_header(request: &Request, name: &str, value: &str) -> Request {
    let mut r = request.clone();
    r.set_header(name, value);
    r
}

fn without_header(request: &Request, name: &str) -> Request {
    let mut r = request.clone();
    r.remove_header(name);
    r
}

/// Changes one Base64 character in the middle of a blob.
fn tamper(blob: &str) -> String {
    let mut chars: Vec<char> = blob.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// The variants every request must be refused for.
fn common_variants(
    s: &Sandbox,
    request: &Request,
    resign: impl Fn(&Credentials, &str) -> String,
) -> Vec<(&'static str, Request)> {
    let ts = request.header("faspay-timestamp").unwrap().to_string();
    let creds = &s.client.creds;
    let wrong_app_secret = Credentials {
        app_secret: "f26a4e84-cbba-4023-b3d9-40892c5638d5".into(),
        ..creds.clone()
    };
    let wrong_client_secret = Credentials {
        client_secret: "0afd3f5b-b20e-4dc2-8222-d7a571a31c4d".into(),
        ..creds.clone()
    };
    let wrong_faspay_secret = Credentials {
        faspay_secret: "19c887a3-49af-4087-8e82-58a1875b1453".into(),
        ..creds.clone()
    };
    // One second later than the header says.
    let mut later = ts.clone();
    let last = later.pop().unwrap();
    later.push(if last == '9' {
        '8'
    } else {
        char::from(last as u8 + 1)
    });
    let signature = request.header("faspay-signature").unwrap().to_string();
    let authorization = request.header("faspay-authorization").unwrap().to_string();

    let mut mismatched_header = request.clone();
    mismatched_header.set_header("faspay-timestamp", &later);

    vec![
        (
            "unknown faspay-key",
            with_header(
                request,
                "faspay-key",
                "00000000-0000-4000-8000-000000000000",
            ),
        ),
        (
            "another partner's faspay-key",
            with_header(request, "faspay-key", &s.other.creds.faspay_key),
        ),
        (
            "authorization with a wrong app secret",
            with_header(
                request,
                "faspay-authorization",
                &wrong_app_secret.authorization(),
            ),
        ),
        (
            "another partner's authorization",
            with_header(
                request,
                "faspay-authorization",
                &s.other.creds.authorization(),
            ),
        ),
        (
            "tampered authorization",
            with_header(request, "faspay-authorization", &tamper(&authorization)),
        ),
        (
            "signature with a wrong client secret",
            with_header(
                request,
                "faspay-signature",
                &resign(&wrong_client_secret, &ts),
            ),
        ),
        (
            "signature encrypted with a wrong faspay secret",
            with_header(
                request,
                "faspay-signature",
                &resign(&wrong_faspay_secret, &ts),
            ),
        ),
        (
            "tampered signature",
            with_header(request, "faspay-signature", &tamper(&signature)),
        ),
        (
            "signature not Base64",
            with_header(request, "faspay-signature", "not a signature"),
        ),
        (
            "signature for another timestamp than the header's",
            with_header(request, "faspay-signature", &resign(creds, &later)),
        ),
        (
            "header timestamp differs from the signature's",
            mismatched_header,
        ),
        (
            "timestamp not Y-m-d H:i:s",
            with_header(request, "faspay-timestamp", "16/06/2020 16:06:00"),
        ),
        ("missing faspay-key", without_header(request, "faspay-key")),
        (
            "missing faspay-authorization",
            without_header(request, "faspay-authorization"),
        ),
        (
            "missing faspay-timestamp",
            without_header(request, "faspay-timestamp"),
        ),
        (
            "missing faspay-signature",
            without_header(request, "faspay-signature"),
        ),
        ("no headers at all", {
            let mut r = request.clone();
            for name in [
                "faspay-key",
                "faspay-authorization",
                "faspay-timestamp",
                "faspay-signature",
            ] {
                r.remove_header(name);
            }
            r
        }),
    ]
}

async fn bad_credentials_are_unauthorized(db: TestDatabase) {
    let s = fixture::start(db).await;
    let ts = s.client.timestamp().await;
    let next = Query::Balance.path();

    // The token request, GET and POST.
    for style in [Style::Java, Style::Python] {
        let request = s.client.token_request(style, &ts, next, Some("{}"));
        let mut variants = common_variants(&s, &request, |c, ts| c.token_signature(next, ts));
        // A token request's signature carries two parts (client key, client
        // secret), never a third (spec §3.7).
        variants.push((
            "a token request signed with a third part",
            with_header(
                &request,
                "faspay-signature",
                &s.client.creds.service_signature("GET", next, &ts, "extra"),
            ),
        ));
        refused_variants(&s, &format!("token {style:?}"), &request, variants).await;
    }

    // A service request.
    let token = s.client.token(Style::Java, &ts, next, None).await;
    let other_ts = s.other.timestamp().await;
    let foreign_token = s.other.token(Style::Java, &other_ts, next, None).await;
    let request = balance_request(&s, &ts, &token);
    let mut variants = common_variants(&s, &request, |c, ts| {
        c.service_signature("GET", next, ts, &token)
    });
    let creds = &s.client.creds;
    let sign = |method: &str, path: &str, token: &str| {
        with_header(
            &request,
            "faspay-signature",
            &creds.service_signature(method, path, &ts, token),
        )
    };
    variants.extend([
        ("another partner's token", sign("GET", next, &foreign_token)),
        (
            "a token this gateway never issued",
            sign("GET", next, "TESTACCESSTOKEN123"),
        ),
        ("a tampered token", sign("GET", next, &tamper(&token))),
        ("an empty token", sign("GET", next, "")),
        (
            "the token request's signature",
            with_header(
                &request,
                "faspay-signature",
                &creds.token_signature(next, &ts),
            ),
        ),
        (
            "signed for another service",
            sign("GET", "/account/api/transfer", &token),
        ),
        ("signed with another method", sign("DELETE", next, &token)),
    ]);
    refused_variants(&s, "balance", &request, variants).await;

    // The other partner's own request with its own token passes: the refusals above
    // were about mixing, not about that partner.
    let own = s.other.query_request(
        Style::Java,
        Query::Balance,
        &other_ts,
        &foreign_token,
        fixture::OTHER_VA,
        &[],
    );
    assert_success(&s.other.exchange(&own).await);
    // Nor may a partner ask about another partner's account with its own token.
    let across = s.client.query_request(
        Style::Java,
        Query::Balance,
        &ts,
        &token,
        fixture::OTHER_VA,
        &[],
    );
    assert_error(&s.client.exchange(&across).await, "Invalid Virtual Account");
    s.stop().await;
}

async fn tokens_expire_after_ten_hours(db: TestDatabase) {
    let s = fixture::start(db).await;
    let ts = s.client.timestamp().await;
    let token = s
        .client
        .token(Style::Python, &ts, Query::Balance.path(), Some("{}"))
        .await;
    assert_success(&s.client.exchange(&balance_request(&s, &ts, &token)).await);

    // Shortly before the ten hours are up it still works (timestamps follow the clock).
    s.advance_clock(35_990).await;
    let ts = s.client.timestamp().await;
    assert_success(&s.client.exchange(&balance_request(&s, &ts, &token)).await);

    // 36001 s after it was issued it is refused; a new token works.
    s.advance_clock(11).await;
    let ts = s.client.timestamp().await;
    let answer: Value = s.client.exchange(&balance_request(&s, &ts, &token)).await;
    assert_unauthorized(&answer);
    let fresh = s
        .client
        .token(Style::Java, &ts, Query::Balance.path(), None)
        .await;
    assert_success(&s.client.exchange(&balance_request(&s, &ts, &fresh)).await);
    s.stop().await;
}

on_both_backends!(
    tokens_are_issued_for_get_and_post,
    bad_credentials_are_unauthorized,
    tokens_expire_after_ten_hours,
);
