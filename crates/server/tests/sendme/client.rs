//! A SendMe client written from the wire spec alone, as the official SDKs behave:
//! the AES primitive, the four `faspay-*` headers, the token request signed with
//! the next service's path, services signed with their canonical method and bare
//! path, the three SDKs' ways of calling the query services, and the check of the
//! callback signature. It shares no code with the gateway: it signs with the
//! RustCrypto crates directly.

use crate::common::{Api, Reply};
use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use serde_json::Value;
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

pub const TOKENS: &str = "/account/api/tokens";
pub const REGISTER: &str = "/account/api/register";
pub const CONFIRM: &str = "/account/api/register/confirm";
pub const TRANSFER: &str = "/account/api/transfer";
pub const APPROVE: &str = "/account/api/approve";
pub const REJECT: &str = "/account/api/reject";
pub const CANCEL: &str = "/account/api/cancel";

/// A partner's seven credentials and its virtual account.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub virtual_account: String,
    pub faspay_key: String,
    pub faspay_secret: String,
    pub iv: String,
    pub app_key: String,
    pub app_secret: String,
    pub client_key: String,
    pub client_secret: String,
}

/// `key = SHA-256(secret)`, `iv = ASCII of the last 16 hex chars of MD5(secret ‖ iv_seed)`.
pub fn aes_key_iv(secret: &str, iv_seed: &str) -> ([u8; 32], [u8; 16]) {
    let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    let mut md5 = Md5::new();
    md5.update(secret.as_bytes());
    md5.update(iv_seed.as_bytes());
    let ivhex = hex::encode(md5.finalize());
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&ivhex.as_bytes()[16..]);
    (key, iv)
}

/// Base64(AES-256-CBC(key, iv, PKCS#7(plaintext))).
pub fn aes_b64(secret: &str, iv_seed: &str, plaintext: &str) -> String {
    let (key, iv) = aes_key_iv(secret, iv_seed);
    let ct = cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
    STANDARD.encode(ct)
}

impl Credentials {
    fn aes(&self, plaintext: &str) -> String {
        aes_b64(&self.faspay_secret, &self.iv, plaintext)
    }

    /// `faspay-authorization`.
    pub fn authorization(&self) -> String {
        self.aes(&format!("{}:{}", self.app_key, self.app_secret))
    }

    /// The token request's StringToSign: GET, the path of the service about to be
    /// called, Base64(client_key:client_secret), an empty body.
    pub fn token_string_to_sign(&self, next_path: &str, timestamp: &str) -> String {
        let token = STANDARD.encode(format!("{}:{}", self.client_key, self.client_secret));
        format!("GET:{next_path}:{timestamp}:{token}:")
    }

    pub fn token_signature(&self, next_path: &str, timestamp: &str) -> String {
        self.aes(&self.token_string_to_sign(next_path, timestamp))
    }

    /// A service's StringToSign: canonical method, bare path,
    /// Base64(client_key:client_secret:access_token), an empty body.
    pub fn service_string_to_sign(
        &self,
        method: &str,
        path: &str,
        timestamp: &str,
        access_token: &str,
    ) -> String {
        let token = STANDARD.encode(format!(
            "{}:{}:{access_token}",
            self.client_key, self.client_secret
        ));
        format!("{method}:{path}:{timestamp}:{token}:")
    }

    pub fn service_signature(
        &self,
        method: &str,
        path: &str,
        timestamp: &str,
        access_token: &str,
    ) -> String {
        self.aes(&self.service_string_to_sign(method, path, timestamp, access_token))
    }

    /// The callback signature of a body that has no `signature` member:
    /// lowercase hex HMAC-SHA256 keyed with app_secret over
    /// `app_key:POST:Base64(client_key:client_secret):UPPER(hex(SHA-256(compact body)))`.
    pub fn callback_signature(&self, body_without_signature: &str) -> String {
        let compact: String = body_without_signature
            .chars()
            .filter(|c| !matches!(c, '\r' | '\n' | '\t' | ' '))
            .collect();
        let body_hash = hex::encode_upper(Sha256::digest(compact.as_bytes()));
        let authorization = STANDARD.encode(format!("{}:{}", self.client_key, self.client_secret));
        let string_to_sign = format!("{}:POST:{authorization}:{body_hash}", self.app_key);
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.app_secret.as_bytes()).expect("any key length");
        mac.update(string_to_sign.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Checks a callback as received: takes the `signature` member out of the body
    /// text and compares. Returns the parsed body.
    pub fn verify_callback(&self, raw: &str) -> Result<Value, String> {
        let body: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON: {e}"))?;
        let given = body["signature"]
            .as_str()
            .ok_or("no signature in the callback")?
            .to_string();
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, '\r' | '\n' | '\t' | ' '))
            .collect();
        let member = format!("\"signature\":{}", Value::String(given.clone()));
        let unsigned = if compact.contains(&format!(",{member}")) {
            compact.replacen(&format!(",{member}"), "", 1)
        } else if compact.contains(&format!("{member},")) {
            compact.replacen(&format!("{member},"), "", 1)
        } else {
            compact.replacen(&member, "", 1)
        };
        let expected = self.callback_signature(&unsigned);
        if expected == given {
            Ok(body)
        } else {
            Err(format!("signature {given} does not match {expected}"))
        }
    }
}

/// `Y-m-d H:i:s` in Jakarta time (UTC+7).
pub fn jakarta(at: OffsetDateTime) -> String {
    at.to_offset(offset!(+7))
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .expect("formats")
}

/// Parses a Jakarta timestamp, `Y-m-d H:i:s`.
#[track_caller]
pub fn parse_wib(text: &str) -> PrimitiveDateTime {
    PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .unwrap_or_else(|e| panic!("{text:?} is not Y-m-d H:i:s: {e}"))
}

/// `YYYY-MM-DD` in Jakarta time.
pub fn jakarta_date(at: OffsetDateTime) -> String {
    at.to_offset(offset!(+7))
        .format(format_description!("[year]-[month]-[day]"))
        .expect("formats")
}

/// The gateway's sandbox clock.
pub async fn gateway_now(api: &Api) -> OffsetDateTime {
    let clock = api.get("/sandbox/clock").await.expect(200);
    OffsetDateTime::parse(clock["now"].as_str().expect("now"), &Rfc3339).expect("RFC 3339")
}

/// A JSON object whose members keep the order they were added in, as the SDKs
/// serialise their arrays, dicts and maps.
#[derive(Clone, Debug, Default)]
pub struct Body(pub Vec<(String, Value)>);

impl Body {
    pub fn new() -> Self {
        Body(Vec::new())
    }

    /// Sets a member, in place if it is there, else at the end.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_string(), value)),
        }
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.0.retain(|(n, _)| n != name);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn text(&self, name: &str) -> String {
        match self.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => panic!("no {name} in the body"),
        }
    }

    pub fn to_json(&self) -> String {
        let members: Vec<String> = self
            .0
            .iter()
            .map(|(n, v)| format!("{}:{v}", Value::String(n.clone())))
            .collect();
        format!("{{{}}}", members.join(","))
    }
}

/// Which SDK's way of calling to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Token: POST with the service's JSON body. Query services: GET with a JSON
    /// body, values appended in order, `virtual_account` first.
    Php,
    /// Token: POST with the service's JSON body. Query services: POST with a JSON
    /// body, values appended in order, `virtual_account` appended last.
    Python,
    /// Token: bodiless GET. Query services: bodiless GET, the fixed URL order.
    Java,
}

pub const STYLES: [Style; 3] = [Style::Php, Style::Python, Style::Java];

/// The four query services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    Balance,
    InquiryName,
    Mutasi,
    InquiryStatus,
}

impl Query {
    pub fn path(self) -> &'static str {
        match self {
            Query::Balance => "/account/api/balance_inquiry",
            Query::InquiryName => "/account/api/inquiry_name",
            Query::Mutasi => "/account/api/mutasi",
            Query::InquiryStatus => "/account/api/inquiry_status",
        }
    }
}

/// A request ready to send; tests may change it first.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: reqwest::Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

#[derive(Clone)]
pub struct Client {
    pub api: Api,
    pub creds: Credentials,
}

impl Client {
    pub fn new(api: Api, creds: Credentials) -> Self {
        Client { api, creds }
    }

    /// `faspay-timestamp` from the gateway's sandbox clock, as a partner whose own
    /// clock runs on Jakarta time would send it.
    pub async fn timestamp(&self) -> String {
        jakarta(gateway_now(&self.api).await)
    }

    fn headers(&self, timestamp: &str, signature: String) -> Vec<(String, String)> {
        vec![
            ("faspay-key".into(), self.creds.faspay_key.clone()),
            ("faspay-timestamp".into(), timestamp.to_string()),
            ("faspay-signature".into(), signature),
            ("faspay-authorization".into(), self.creds.authorization()),
            ("Content-Type".into(), "application/json".into()),
            ("Accept".into(), "application/json".into()),
        ]
    }

    /// The token request an SDK sends before calling `next_path` with `body`.
    pub fn token_request(
        &self,
        style: Style,
        timestamp: &str,
        next_path: &str,
        body: Option<&str>,
    ) -> Request {
        let headers = self.headers(timestamp, self.creds.token_signature(next_path, timestamp));
        match style {
            Style::Java => Request {
                method: reqwest::Method::GET,
                path: TOKENS.into(),
                headers,
                body: None,
            },
            Style::Php | Style::Python => Request {
                method: reqwest::Method::POST,
                path: TOKENS.into(),
                headers,
                body: Some(body.unwrap_or("{}").to_string()),
            },
        }
    }

    /// A service request signed with `canonical` and `sign_path`, sent as
    /// `method` to `url_path`.
    #[allow(clippy::too_many_arguments)]
    pub fn service_request(
        &self,
        method: reqwest::Method,
        url_path: &str,
        canonical: &str,
        sign_path: &str,
        timestamp: &str,
        access_token: &str,
        body: Option<String>,
    ) -> Request {
        let signature = self
            .creds
            .service_signature(canonical, sign_path, timestamp, access_token);
        Request {
            method,
            path: url_path.to_string(),
            headers: self.headers(timestamp, signature),
            body,
        }
    }

    /// Sends `r`; `Err` when no whole answer came (the connection was refused or
    /// cut before or while the body was read).
    pub async fn try_send(&self, r: &Request) -> Result<Reply, String> {
        let mut builder = self
            .api
            .http
            .request(r.method.clone(), self.api.url(&r.path));
        for (name, value) in &r.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &r.body {
            builder = builder.body(body.clone());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| format!("{} {}: {e}", r.method, r.path))?;
        Api::try_read(response)
            .await
            .map_err(|e| format!("{} {}: answer body: {e}", r.method, r.path))
    }

    pub async fn send(&self, r: &Request) -> Reply {
        self.try_send(r).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends a SendMe request: every answer is HTTP 200 JSON.
    pub async fn exchange(&self, r: &Request) -> Value {
        let reply = self.send(r).await;
        assert!(
            reply.content_type.starts_with("application/json"),
            "{} {} answered as {:?}: {}",
            r.method,
            r.path,
            reply.content_type,
            reply.text
        );
        reply.expect(200)
    }

    /// Asks for an access token as `style` does; panics unless one is given.
    pub async fn token(
        &self,
        style: Style,
        timestamp: &str,
        next_path: &str,
        body: Option<&str>,
    ) -> String {
        let answer = self
            .exchange(&self.token_request(style, timestamp, next_path, body))
            .await;
        assert_token_answer(&answer);
        answer["access_token"].as_str().unwrap().to_string()
    }

    /// Calls a POST service (register, confirm, transfer) on `path`, signed with
    /// `sign_path`, as an SDK does: a fresh token, then the call, one timestamp.
    pub async fn post_as(&self, style: Style, path: &str, sign_path: &str, body: &Body) -> Value {
        self.post_text(style, path, sign_path, body.to_json()).await
    }

    /// Like [`Client::post_as`] with any body text.
    pub async fn post_text(
        &self,
        style: Style,
        path: &str,
        sign_path: &str,
        json: String,
    ) -> Value {
        let ts = self.timestamp().await;
        let token = self.token(style, &ts, sign_path, Some(&json)).await;
        let request = self.service_request(
            reqwest::Method::POST,
            path,
            "POST",
            sign_path,
            &ts,
            &token,
            Some(json),
        );
        self.exchange(&request).await
    }

    pub async fn post(&self, path: &str, body: &Body) -> Value {
        self.post_as(Style::Python, path, path, body).await
    }

    /// The request a query service call becomes in `style`, for the partner's own
    /// virtual account and the other `values` (in the documented order).
    pub fn query_request(
        &self,
        style: Style,
        query: Query,
        timestamp: &str,
        access_token: &str,
        virtual_account: &str,
        values: &[(&str, &str)],
    ) -> Request {
        let va = ("virtual_account", virtual_account);
        let (method, members): (reqwest::Method, Vec<(&str, &str)>) = match style {
            Style::Php => (
                reqwest::Method::GET,
                std::iter::once(va).chain(values.iter().copied()).collect(),
            ),
            Style::Python => (
                reqwest::Method::POST,
                values.iter().copied().chain(std::iter::once(va)).collect(),
            ),
            Style::Java => (
                reqwest::Method::GET,
                std::iter::once(va).chain(values.iter().copied()).collect(),
            ),
        };
        let mut url = query.path().to_string();
        for (_, value) in &members {
            url.push('/');
            url.push_str(value);
        }
        let body = match style {
            Style::Java => None,
            Style::Php | Style::Python => Some(
                members
                    .iter()
                    .fold(Body::new(), |b, (n, v)| b.with(n, *v))
                    .to_json(),
            ),
        };
        self.service_request(
            method,
            &url,
            "GET",
            query.path(),
            timestamp,
            access_token,
            body,
        )
    }

    /// Calls a query service as `style` does, for `virtual_account`.
    pub async fn query_for(
        &self,
        style: Style,
        query: Query,
        virtual_account: &str,
        values: &[(&str, &str)],
    ) -> Value {
        let ts = self.timestamp().await;
        // The token request carries the body the SDK is about to send.
        let probe = self.query_request(style, query, &ts, "", virtual_account, values);
        let token = self
            .token(style, &ts, query.path(), probe.body.as_deref())
            .await;
        let request = self.query_request(style, query, &ts, &token, virtual_account, values);
        self.exchange(&request).await
    }

    pub async fn query(&self, style: Style, query: Query, values: &[(&str, &str)]) -> Value {
        let va = self.creds.virtual_account.clone();
        self.query_for(style, query, &va, values).await
    }

    /// `balance_inquiry`: (balance, available_balance).
    pub async fn balance(&self) -> (String, String) {
        let answer = self.query(Style::Java, Query::Balance, &[]).await;
        assert_success(&answer);
        (
            answer["balance"].as_str().expect("balance").to_string(),
            answer["available_balance"]
                .as_str()
                .expect("available_balance")
                .to_string(),
        )
    }

    /// `inquiry_status` for a transaction number (and id).
    pub async fn status(&self, trx_no: &str, trx_id: Option<&str>) -> Value {
        let mut values = vec![("trx_no", trx_no)];
        if let Some(id) = trx_id {
            values.push(("trx_id", id));
        }
        self.query(Style::Java, Query::InquiryStatus, &values).await
    }
}

/// Asserts the token answer is what every SDK accepts.
#[track_caller]
pub fn assert_token_answer(answer: &Value) {
    assert_eq!(answer["status"], "2", "{answer}");
    assert_eq!(answer["response_code"], "00", "{answer}");
    assert_eq!(answer["expired_in"], "36000", "{answer}");
    assert!(answer["message"].is_string(), "{answer}");
    assert!(answer["response_desc"].is_string(), "{answer}");
    let token = answer["access_token"].as_str().expect("access_token");
    assert!(!token.is_empty(), "{answer}");
    assert!(!token.contains(':'), "a token must not hold ':': {token}");
}

/// Asserts a success envelope ("2", "00").
#[track_caller]
pub fn assert_success(answer: &Value) {
    assert_eq!(answer["status"], "2", "{answer}");
    assert_eq!(answer["response_code"], "00", "{answer}");
    assert!(answer["message"].is_string(), "{answer}");
    assert!(answer["response_desc"].is_string(), "{answer}");
}

/// Asserts an error envelope (status "9") with this message; returns the answer's
/// `response_code`.
#[track_caller]
pub fn assert_error(answer: &Value, message: &str) -> String {
    assert_eq!(answer["status"], "9", "{answer}");
    assert_eq!(answer["message"], message, "{answer}");
    assert!(answer["response_desc"].is_string(), "{answer}");
    answer["response_code"]
        .as_str()
        .unwrap_or_else(|| panic!("response_code is not a string: {answer}"))
        .to_string()
}

#[track_caller]
pub fn assert_unauthorized(answer: &Value) {
    assert_eq!(assert_error(answer, "Unauthorized"), "00", "{answer}");
}

/// The confirm request an integrator builds from the register answer.
pub fn confirm_body(registered: &Value) -> Body {
    let mut body = Body::new();
    for name in [
        "virtual_account",
        "beneficiary_account",
        "beneficiary_account_name",
        "beneficiary_va_name",
        "beneficiary_bank_code",
        "beneficiary_bank_branch",
        "beneficiary_region_code",
        "beneficiary_country_code",
        "beneficiary_purpose_code",
        "bank_account_number",
        "bank_account_name",
    ] {
        body = body.with(name, registered[name].clone());
    }
    body.with("confirm", "2")
}
