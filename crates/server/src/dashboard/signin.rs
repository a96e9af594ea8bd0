//! Signing in and out: the password form, the second-factor form, sign-out.
//! Forms carry a CSRF token (before a session: the same random value in a cookie
//! and in the form); sign-in attempts are limited per client address.

use super::auth::{self, Pending, Signed};
use super::{layout, Dashboard};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use gerbang_app::users::signin::{self, Outcome, Refusal};
use gerbang_core::mask::Secret;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

fn sign_in_page(csrf: &str, name: &str, message: Option<&str>) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(m) = message { p.error role="alert" { (m) } }
            form method="post" action="/dashboard/sign-in" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Username" input name="username" autocomplete="username" required value=(name) autofocus; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Sign in" }
            }
        },
    )
}

fn code_page(csrf: &str, message: Option<&str>) -> Markup {
    layout::bare(
        "Second factor",
        html! {
            h1 { "Enter your code" }
            p { "Open your authenticator app and type the 6-digit code it shows for gerbang." }
            @if let Some(m) = message { p.error role="alert" { (m) } }
            form method="post" action="/dashboard/sign-in/code" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Code" input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus; }
                button type="submit" { "Verify" }
            }
        },
    )
}

fn locked_message(until: gerbang_core::Timestamp) -> String {
    format!(
        "Too many wrong attempts: this user is locked until {}.",
        layout::when(until)
    )
}

/// The sign-in form, with a fresh CSRF cookie when the browser has none.
pub async fn form(State(d): State<Arc<Dashboard>>, jar: CookieJar) -> Response {
    let (jar, csrf) = sign_in_token(&d, jar);
    (jar, Html(sign_in_page(&csrf, "", None).into_string())).into_response()
}

fn sign_in_token(d: &Dashboard, jar: CookieJar) -> (CookieJar, String) {
    let name = auth::sign_in_cookie_name(d);
    match jar.get(name).map(|c| c.value().to_string()) {
        Some(token) if token.len() == 43 => (jar, token),
        _ => {
            let token = gerbang_app::users::sessions::random_token();
            (jar.add(auth::cookie(d, name, token.clone())), token)
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    username: String,
    password: String,
}

/// Longest username or password read from the form.
const MAX_FIELD_CHARS: usize = 256;

pub async fn password(
    State(d): State<Arc<Dashboard>>,
    auth::Client(client): auth::Client,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Response {
    let expected = jar
        .get(auth::sign_in_cookie_name(&d))
        .map(|c| c.value().to_string());
    if !auth::same_origin(&headers)
        || !expected.is_some_and(|e| auth::token_matches(&e, &form.csrf))
    {
        return super::layout::forged();
    }
    let (jar, csrf) = sign_in_token(&d, jar);
    let name: String = form.username.chars().take(MAX_FIELD_CHARS).collect();
    if !d.throttle.admit(client) {
        let page = sign_in_page(
            &csrf,
            &name,
            Some("Too many sign-in attempts from this address: wait a minute."),
        );
        return (StatusCode::TOO_MANY_REQUESTS, jar, Html(page.into_string())).into_response();
    }
    if form.password.chars().count() > MAX_FIELD_CHARS {
        let page = sign_in_page(&csrf, &name, Some("Wrong username or password."));
        return (StatusCode::UNAUTHORIZED, jar, Html(page.into_string())).into_response();
    }
    let from = client.to_string();
    match signin::with_password(&d.app, &name, Secret::new(form.password), &from).await {
        Ok(Outcome::Session(token, live)) => {
            let jar = jar.add(auth::cookie(
                &d,
                auth::session_cookie_name(&d),
                token.expose().to_string(),
            ));
            let next = if live.session.complete {
                "/dashboard"
            } else {
                "/dashboard/sign-in/code"
            };
            (jar, Redirect::to(next)).into_response()
        }
        Ok(Outcome::Refused(refusal)) => {
            let (status, message) = match refusal {
                Refusal::Locked(until) => (StatusCode::FORBIDDEN, locked_message(until)),
                Refusal::WrongCredentials | Refusal::WrongCode => (
                    StatusCode::UNAUTHORIZED,
                    "Wrong username or password.".to_string(),
                ),
            };
            let page = sign_in_page(&csrf, &name, Some(&message));
            (status, jar, Html(page.into_string())).into_response()
        }
        Err(e) => unavailable(e),
    }
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard sign-in failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            layout::bare(
                "Try again",
                html! { h1 { "Try again" } p { "The sign-in could not be completed just now." } },
            )
            .into_string(),
        ),
    )
        .into_response()
}

pub async fn code_form(pending: Pending) -> Response {
    Html(code_page(pending.live.session.csrf.expose(), None).into_string()).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    csrf: String,
    code: String,
}

pub async fn code(
    State(d): State<Arc<Dashboard>>,
    pending: Pending,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Response {
    let csrf = pending.live.session.csrf.expose().to_string();
    if !auth::same_origin(&headers) || !auth::token_matches(&csrf, &form.csrf) {
        return super::layout::forged();
    }
    if !d.throttle.admit(pending.from) {
        let page = code_page(
            &csrf,
            Some("Too many attempts from this address: wait a minute."),
        );
        return (StatusCode::TOO_MANY_REQUESTS, Html(page.into_string())).into_response();
    }
    let from = pending.from.to_string();
    match signin::with_code(&d.app, &pending.live, &form.code, &from).await {
        Ok(Outcome::Session(token, _)) => {
            // The signed-in session has a token of its own.
            let jar = jar.add(auth::cookie(
                &d,
                auth::session_cookie_name(&d),
                token.expose().to_string(),
            ));
            (jar, Redirect::to("/dashboard")).into_response()
        }
        Ok(Outcome::Refused(Refusal::Locked(until))) => {
            let (jar, token) = sign_in_token(&d, jar.add(auth::cleared(&d)));
            let page = sign_in_page(&token, "", Some(&locked_message(until)));
            (StatusCode::FORBIDDEN, jar, Html(page.into_string())).into_response()
        }
        Ok(Outcome::Refused(_)) => {
            let page = code_page(
                &csrf,
                Some("Wrong code, or a code already used. Wait for the next one."),
            );
            (StatusCode::UNAUTHORIZED, Html(page.into_string())).into_response()
        }
        Err(e) => unavailable(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignOutForm {
    csrf: String,
}

pub async fn sign_out(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<SignOutForm>,
) -> Response {
    if !signed.form_is_ours(&headers, &form.csrf) {
        return super::layout::forged();
    }
    if let Err(e) =
        gerbang_app::users::sessions::end(&d.app, &signed.live, &signed.from.to_string()).await
    {
        return unavailable(e);
    }
    (
        jar.add(auth::cleared(&d)),
        Redirect::to("/dashboard/sign-in"),
    )
        .into_response()
}
