//! Payout approval on the SendMe surface (a gerbang extension; Faspay does it on
//! its dashboard): `POST /account/api/approve` and `POST /account/api/reject`,
//! signed like any SendMe service, with `trx_id` or `trx_no` — one value or a list.

use super::codes::PartnerCodes;
use super::{call, error, Answer, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use gerbang_app::payout::approval::{self, ApprovalError};
use gerbang_app::payout::{self, Disbursement};
use gerbang_protocol::sendme::auth::Endpoint;
use gerbang_protocol::sendme::envelope::{self, status, SendmeError};
use gerbang_protocol::sendme::render::{status_of, trx_id, wib};
use gerbang_protocol::sendme::request::Decision;
use serde_json::{json, Map, Value};

const APPROVE: Endpoint = Endpoint::Service {
    path: "/account/api/approve",
    method: "POST",
};
const REJECT: Endpoint = Endpoint::Service {
    path: "/account/api/reject",
    method: "POST",
};

async fn decide(
    sendme: Shared,
    endpoint: Endpoint,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let c = match call(&sendme, endpoint, method, uri, headers, body).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let va = match c.own_virtual_account(usize::MAX) {
        Ok(va) => va,
        Err(e) => return error(e),
    };
    let requester = c.partner.requester();
    let Decision {
        mut ids,
        references,
    } = Decision::parse(&c.input.fields);
    for reference in references {
        match payout::id_by_reference(&sendme.app.store, &requester, &reference).await {
            Ok(Some(id)) => ids.push(id),
            Ok(None) => {
                return error(SendmeError::NOT_FOUND.with_detail(format!("trx_no {reference}")))
            }
            Err(e) => return error(super::internal(e)),
        }
    }
    let decided = if endpoint == APPROVE {
        approval::approve(&sendme.app, &requester, &ids).await
    } else {
        approval::reject(&sendme.app, &requester, &ids).await
    };
    match decided {
        Ok(list) => {
            let mut m = Map::new();
            m.insert("virtual_account".into(), va.into());
            let codes = PartnerCodes::new(&sendme);
            let mut lines = Vec::with_capacity(list.len());
            for d in &list {
                match line(&codes, d).await {
                    Ok(l) => lines.push(l),
                    Err(e) => return error(e),
                }
            }
            m.insert("data".into(), Value::Array(lines));
            Json(envelope::success(m, status::SUCCESS, "Success"))
        }
        Err(ApprovalError::NotFound(id)) => {
            error(SendmeError::NOT_FOUND.with_detail(format!("trx_id {id}")))
        }
        Err(e @ (ApprovalError::NotWaiting(_) | ApprovalError::BadCount)) => {
            error(SendmeError::INVALID_BODY.with_detail(e.to_string()))
        }
        Err(ApprovalError::Store(e)) => error(super::internal(e)),
    }
}

/// One decided transfer; a cash-out's line carries its code (issued on approval).
async fn line(codes: &PartnerCodes<'_>, d: &Disbursement) -> Result<Value, SendmeError> {
    let (code, word) = status_of(d.status);
    let mut line = json!({
        "trx_id": trx_id(d),
        "trx_no": d.reference,
        "trx_status": code,
        "message": word,
    });
    if let Some(c) = d.cash_code() {
        line["cashout_code"] = codes.code(d).await?.into();
        line["trx_expired"] = wib(c.expires_at).into();
    }
    Ok(line)
}

pub async fn approve(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    decide(sendme, APPROVE, method, uri, headers, body).await
}

pub async fn reject(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    decide(sendme, REJECT, method, uri, headers, body).await
}
