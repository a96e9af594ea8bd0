//! Who is asking: the session cookie, the signed-in session it names, the
//! client's address, and the checks every form passes (its CSRF token, and an
//! `Origin` that is this gateway's own when the browser sends one).

use super::Dashboard;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use gerbang_app::users::sessions::{self, Live};
use gerbang_core::user::Scope;
use std::net::IpAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The session cookie when cookies are `Secure` (a `__Host-` cookie is only ever
/// set by this host, over a secure origin, for every path).
const SESSION_SECURE: &str = "__Host-gerbang_session";
/// The session cookie over plain HTTP (`[dashboard] secure_cookies = false`).
const SESSION_PLAIN: &str = "gerbang_session";
/// The sign-in form's CSRF token before there is a session (double submit),
/// when cookies are `Secure` (a `__Host-` cookie no sibling host can set) …
const SIGN_IN_CSRF_SECURE: &str = "__Host-gerbang_sign_in";
/// … and over plain HTTP.
const SIGN_IN_CSRF_PLAIN: &str = "gerbang_sign_in";

pub fn sign_in_cookie_name(d: &Dashboard) -> &'static str {
    if d.app.config.dashboard.secure_cookies {
        SIGN_IN_CSRF_SECURE
    } else {
        SIGN_IN_CSRF_PLAIN
    }
}

pub fn session_cookie_name(d: &Dashboard) -> &'static str {
    if d.app.config.dashboard.secure_cookies {
        SESSION_SECURE
    } else {
        SESSION_PLAIN
    }
}

/// A cookie for the dashboard: HttpOnly, SameSite=Lax, for every path, Secure
/// unless configured otherwise.
pub fn cookie(d: &Dashboard, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(d.app.config.dashboard.secure_cookies)
        .build()
}

/// The cookie that ends the session cookie in the browser.
pub fn cleared(d: &Dashboard) -> Cookie<'static> {
    let mut c = cookie(d, session_cookie_name(d), String::new());
    c.make_removal();
    c
}

/// The client's address (behind a configured reverse proxy, the one it names).
pub fn client(parts: &Parts, d: &Dashboard) -> IpAddr {
    crate::client_address::of(parts, &d.app.config.http.trusted_proxies)
}

/// Whether the `Origin` a browser sent, if any, is this gateway (the `Host` it
/// was asked under).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = origin.to_str().ok();
    match (origin, host) {
        (Some(origin), Some(host)) => {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            rest == Some(host)
        }
        _ => false,
    }
}

/// Whether `given` is `expected`, in constant time.
pub fn token_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The session a request's cookie names, complete or not.
async fn live(d: &Dashboard, parts: &Parts) -> Option<Live> {
    let jar = CookieJar::from_headers(&parts.headers);
    let token = jar.get(session_cookie_name(d))?.value().to_string();
    match sessions::find(&d.app, &token).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "reading a dashboard session failed");
            None
        }
    }
}

/// The address a request comes from (see [`client`]).
pub struct Client(pub IpAddr);

#[axum::async_trait]
impl FromRequestParts<Arc<Dashboard>> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        d: &Arc<Dashboard>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client(client(parts, d)))
    }
}

/// A signed-in user's request (the session is complete), with the address it
/// came from. Without one the browser is sent to the sign-in page.
pub struct Signed {
    pub live: Live,
    pub from: IpAddr,
    /// The gateway runs in sandbox mode (its pages show the sandbox's section).
    pub sandbox: bool,
}

#[axum::async_trait]
impl FromRequestParts<Arc<Dashboard>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, d: &Arc<Dashboard>) -> Result<Self, Response> {
        match live(d, parts).await {
            Some(live) if live.session.complete => Ok(Signed {
                live,
                from: client(parts, d),
                sandbox: d.app.is_sandbox(),
            }),
            Some(_) => Err(Redirect::to("/dashboard/sign-in/code").into_response()),
            None => Err(Redirect::to("/dashboard/sign-in").into_response()),
        }
    }
}

/// A session that gave its password and waits for its second factor.
pub struct Pending {
    pub live: Live,
    pub from: IpAddr,
}

#[axum::async_trait]
impl FromRequestParts<Arc<Dashboard>> for Pending {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, d: &Arc<Dashboard>) -> Result<Self, Response> {
        match live(d, parts).await {
            Some(live) if !live.session.complete => Ok(Pending {
                live,
                from: client(parts, d),
            }),
            Some(_) => Err(Redirect::to("/dashboard").into_response()),
            None => Err(Redirect::to("/dashboard/sign-in").into_response()),
        }
    }
}

impl Signed {
    /// An audit entry of this user's `action` on what belongs to `touched`, now.
    pub fn audit(
        &self,
        touched: &Scope,
        action: &str,
        detail: &str,
    ) -> gerbang_core::user::AuditEntry {
        let s = &self.live.session;
        gerbang_app::users::audit::entry(
            s.username.as_str(),
            touched,
            action,
            detail,
            &self.from.to_string(),
        )
    }

    /// Whether a form of this session carries its CSRF token, from this origin.
    pub fn form_is_ours(&self, headers: &HeaderMap, csrf: &str) -> bool {
        same_origin(headers) && token_matches(self.live.session.csrf.expose(), csrf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(!same_origin(&h));
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abc", "abd"));
        assert!(!token_matches("", ""));
    }
}
