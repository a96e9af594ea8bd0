//! `POST /v1.0/access-token/b2b` (service 73, spec §3.1): a B2B access token for
//! a partner whose SHA256withRSA signature over `X-CLIENT-KEY|X-TIMESTAMP` its
//! registered public key verifies. The token is the gateway's own (nothing
//! stored), valid 900 seconds on every process sharing the database.

use super::{Reply, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use gerbang_protocol::snap::code::{Case, Outcome, Service};
use gerbang_protocol::snap::fields::Body;
use gerbang_protocol::snap::timestamp;
use gerbang_protocol::token::SNAP_B2B;
use serde_json::Map;

const SERVICE: Service = Service::B2B_TOKEN;

pub async fn b2b(State(snap): State<Shared>, headers: HeaderMap, body: Bytes) -> Reply {
    let now = snap.app.now();
    let (outcome, fields) = match issue(&snap, &headers, &body).await {
        Ok(fields) => (Outcome::new(SERVICE, Case::SUCCESSFUL), fields),
        Err(outcome) => (outcome, Map::new()),
    };
    Reply {
        outcome,
        fields,
        now,
    }
}

async fn issue(
    snap: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, serde_json::Value>, Outcome> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let missing = |name: &str| Outcome::new(SERVICE, Case::INVALID_MANDATORY_FIELD).about(name);
    let malformed = |name: &str| Outcome::new(SERVICE, Case::INVALID_FIELD_FORMAT).about(name);
    let unauthorized = |why: &str| Outcome::new(SERVICE, Case::UNAUTHORIZED).about(why);
    let client_key = header("X-CLIENT-KEY").ok_or_else(|| missing("X-CLIENT-KEY"))?;
    let timestamp_text = header("X-TIMESTAMP").ok_or_else(|| missing("X-TIMESTAMP"))?;
    let at = timestamp::parse(timestamp_text).ok_or_else(|| malformed("X-TIMESTAMP"))?;
    let signature = header("X-SIGNATURE").ok_or_else(|| missing("X-SIGNATURE"))?;
    if client_key.chars().count() > 36 {
        return Err(malformed("X-CLIENT-KEY"));
    }
    let partner = snap.partner_at(SERVICE, client_key, at).await?;
    let key = snap.public_key_of(SERVICE, &partner)?;
    if !key.verifies_token_request(client_key, timestamp_text, signature) {
        tracing::info!(partner = %client_key, "SNAP token request signature refused");
        return Err(unauthorized("Signature"));
    }
    let body = Body::parse(body).ok_or_else(|| Outcome::new(SERVICE, Case::BAD_REQUEST))?;
    let grant = body
        .required("grantType", 18)
        .map_err(|e| super::field(SERVICE, e))?;
    if grant != "client_credentials" {
        return Err(malformed("grantType"));
    }
    let token_key = snap
        .app
        .token_key()
        .await
        .map_err(|e| super::internal(SERVICE, e))?;
    let mut fields = Map::new();
    fields.insert(
        "accessToken".into(),
        token_key
            .issue(&SNAP_B2B, &partner.partner_id, snap.app.now())
            .into(),
    );
    fields.insert("tokenType".into(), "Bearer".into());
    fields.insert(
        "expiresIn".into(),
        SNAP_B2B.lifetime_seconds.to_string().into(),
    );
    Ok(fields)
}
