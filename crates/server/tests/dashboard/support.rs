//! The suite's browser over HTTP (cookies kept by hand, redirects not followed,
//! so that every answer can be looked at), its own TOTP (RFC 6238 with HMAC-SHA1
//! and a base32 decoder written here), and users made through the same calls as
//! `gerbang users add`.

use crate::common::*;
use gerbang_app::payin::{self, NewBill};
use gerbang_app::payout::{self, NewPayout};
use gerbang_app::users;
use gerbang_core::mask::Masked;
use gerbang_core::mask::Secret;
use gerbang_core::payin::Customer;
use gerbang_core::payout::{AccountPayee, Disbursement, Face, Payee, Requester, Status};
use gerbang_core::user::{Role, Scope, Username};
use gerbang_core::Document;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::collections::BTreeMap;

pub const PASSWORD: &str = "correct horse battery staple";

/// A user made for a test; `totp` is its base32 secret when its role has one.
pub struct TestUser {
    pub name: String,
    pub totp: Option<String>,
}

pub async fn user(gw: &Gateway, name: &str, scope: Scope, role: Role) -> TestUser {
    let added = users::add(
        gw.app(),
        Username::parse(name).unwrap(),
        scope,
        role,
        Secret::new(PASSWORD),
    )
    .await
    .expect("the user is added");
    TestUser {
        name: name.into(),
        totp: added.enrolment.map(|e| e.secret.expose().to_string()),
    }
}

fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32") as u32;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

/// The 6-digit TOTP code of `secret` (base32) for the 30-second step holding
/// `unix_seconds`.
pub fn totp_at(secret: &str, unix_seconds: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(&base32(secret)).unwrap();
    mac.update(&(unix_seconds / 30).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let at = (h[19] & 0x0f) as usize;
    let n = u32::from_be_bytes([h[at] & 0x7f, h[at + 1], h[at + 2], h[at + 3]]);
    format!("{:06}", n % 1_000_000)
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An answer: status, `Location`, the `Set-Cookie` lines, headers and body.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the hidden input `name` in the page's first form having it.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let (_, rest) = self
            .body
            .split_once(&marker)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body));
        rest.split('"').next().unwrap().to_string()
    }
}

/// A browser: its cookies, kept as the gateway sets them.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// Sent as `X-Forwarded-For`, as a reverse proxy would.
    pub forwarded_for: Option<String>,
}

impl Browser {
    pub fn new(gw: &Gateway) -> Self {
        Browser {
            base: format!("http://{}", gw.addr()),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            forwarded_for: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let set_cookies: Vec<String> = headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for line in &set_cookies {
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        let location = headers
            .get(reqwest::header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let body = response.text().await.unwrap();
        Page {
            status,
            location,
            set_cookies,
            headers,
            body,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", self.cookie_header());
        if let Some(f) = &self.forwarded_for {
            r = r.header("x-forwarded-for", f);
        }
        r
    }

    async fn fetch(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self.fetch(path).await;
        self.read(response).await
    }

    /// The body of `path` as bytes (a download).
    pub async fn get_bytes(&mut self, path: &str) -> Vec<u8> {
        let response = self.fetch(path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.bytes().await.unwrap().to_vec()
    }

    /// Posts `fields` as a form, with an `Origin` header when given.
    pub async fn post_from(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let mut request = self.request(reqwest::Method::POST, path).form(fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    /// Posts `fields` as this gateway's own page would (same `Origin`).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.base.clone();
        self.post_from(path, fields, Some(&origin)).await
    }

    /// Posts a multipart form as this gateway's own page would; `None` when the
    /// gateway closed the connection before answering (a body over its limit).
    pub async fn try_post_multipart(
        &mut self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> Option<Page> {
        let origin = self.base.clone();
        let response = self
            .request(reqwest::Method::POST, path)
            .header("origin", origin)
            .multipart(form)
            .send()
            .await
            .ok()?;
        Some(self.read(response).await)
    }

    /// Opens the sign-in form and sends `name` and `password` with its token.
    pub async fn sign_in(&mut self, name: &str, password: &str) -> Page {
        let form = self.get("/dashboard/sign-in").await;
        let csrf = form.hidden("csrf");
        self.post(
            "/dashboard/sign-in",
            &[("csrf", &csrf), ("username", name), ("password", password)],
        )
        .await
    }

    /// Sends the second factor `code` from the code form.
    pub async fn give_code(&mut self, code: &str) -> Page {
        let form = self.get("/dashboard/sign-in/code").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.hidden("csrf");
        self.post(
            "/dashboard/sign-in/code",
            &[("csrf", &csrf), ("code", code)],
        )
        .await
    }

    /// Signs `user` in all the way (its code too, when it has one).
    pub async fn signed_in(gw: &Gateway, user: &TestUser) -> Browser {
        let mut b = Browser::new(gw);
        let page = b.sign_in(&user.name, PASSWORD).await;
        assert_eq!(page.status, 303, "{}", page.body);
        if let Some(secret) = &user.totp {
            assert_eq!(page.location.as_deref(), Some("/dashboard/sign-in/code"));
            let page = b.give_code(&totp_at(secret, unix_now())).await;
            assert_eq!(
                page.location.as_deref(),
                Some("/dashboard"),
                "{}",
                page.body
            );
        } else {
            assert_eq!(page.location.as_deref(), Some("/dashboard"));
        }
        b
    }
}

/// The audit log's rows as `(actor, action, detail)`, newest first, as `b` sees it.
pub async fn audit_rows(b: &mut Browser) -> Vec<(String, String, String)> {
    let page = b.get("/dashboard/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut rows = Vec::new();
    for row in page.body.split("<tr>").skip(2) {
        let cells: Vec<String> = row
            .split("<td")
            .skip(1)
            .map(|c| {
                let (_, inner) = c.split_once('>').unwrap();
                let text = inner.split("</td>").next().unwrap();
                text.replace("<code>", "").replace("</code>", "")
            })
            .collect();
        if cells.len() == 6 {
            rows.push((cells[1].clone(), cells[3].clone(), cells[4].clone()));
        }
    }
    rows
}

/// A payout of `face`/`principal` from the demo partner's balance, held for approval.
pub async fn waiting(gw: &Gateway, face: Face, principal: &str, reference: &str) -> Disbursement {
    let d = payout::accept(
        gw.app(),
        NewPayout {
            requester: Requester {
                face,
                principal: principal.into(),
            },
            funding_account: format!("partner:{DEMO_VA}"),
            needs_approval: true,
            reference: reference.into(),
            fingerprint: reference.into(),
            payee: Payee::BankAccount(AccountPayee {
                channel: "014".into(),
                channel_name: "BANK BCA".into(),
                account: Masked("1234567890".into()),
                holder: "JOHN DOE".into(),
                beneficiary: None,
            }),
            amount_minor: 1_500_000,
            description: "payroll".into(),
            notice_url: None,
            request: Document::of(&serde_json::json!({})),
            instruct_at: None,
            claim: None,
        },
    )
    .await
    .expect("accepted");
    assert_eq!(d.status, Status::WaitingApproval);
    d
}

/// A bill of `merchant` for Rp 50.000 on channel 801, due in a day, its
/// notification sent to `notice_url` when given; its id.
pub async fn bill_to(
    gw: &Gateway,
    merchant: &str,
    reference: &str,
    notice_url: Option<String>,
) -> String {
    let b = payin::post(
        gw.app(),
        NewBill {
            requester: Requester {
                face: Face::Debit,
                principal: merchant.into(),
            },
            reference: reference.into(),
            fingerprint: reference.into(),
            channel: "801".into(),
            amount_minor: 5_000_000,
            description: "order".into(),
            customer: Customer {
                number: "C1".into(),
                name: "Budi".into(),
                email: Masked("budi@example.com".into()),
                phone: Masked("081234567890".into()),
            },
            items: Vec::new(),
            expires_at: gw.app().now().plus_seconds(86_400),
            notice_url,
            request: Document::of(&serde_json::json!({})),
        },
    )
    .await
    .expect("a bill");
    b.id
}

/// A bill as [`bill_to`] makes it, told to nobody.
pub async fn bill(gw: &Gateway, merchant: &str, reference: &str) -> String {
    bill_to(gw, merchant, reference, None).await
}
