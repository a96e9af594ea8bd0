//! Payout decisions on the SendMe surface (gerbang extensions; Faspay does them on
//! its dashboard): `POST /account/api/approve`, `POST /account/api/reject` and
//! `POST /account/api/cancel` (a transfer not sent yet: waiting, scheduled, or a
//! code nobody claimed), signed like any SendMe service, with `trx_id` or
//! `trx_no` — one value or a list.

use super::codes::PartnerCodes;
use super::{call, error, Answer, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use gerbang_app::payout::approval::{self, ApprovalError};
use gerbang_app::payout::cancel::{self, CancelError};
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
const CANCEL: Endpoint = Endpoint::Service {
    path: "/account/api/cancel",
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
        approval::approve(&sendme.app, &requester, &ids)
            .await
            .map_err(Refused::from)
    } else if endpoint == REJECT {
        approval::reject(&sendme.app, &requester, &ids)
            .await
            .map_err(Refused::from)
    } else {
        cancel::cancel(&sendme.app, &requester, &ids)
            .await
            .map_err(Refused::from)
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
        Err(Refused::NotFound(id)) => {
            error(SendmeError::NOT_FOUND.with_detail(format!("trx_id {id}")))
        }
        Err(Refused::Invalid(why)) => error(SendmeError::INVALID_BODY.with_detail(why)),
        Err(Refused::Store(e)) => error(super::internal(e)),
    }
}

/// Why a decision was refused, as SendMe answers it.
enum Refused {
    NotFound(String),
    Invalid(String),
    Store(String),
}

impl From<ApprovalError> for Refused {
    fn from(e: ApprovalError) -> Self {
        match e {
            ApprovalError::NotFound(id) => Refused::NotFound(id),
            ApprovalError::NotWaiting(_) | ApprovalError::BadCount => {
                Refused::Invalid(e.to_string())
            }
            ApprovalError::Store(e) => Refused::Store(e),
        }
    }
}

impl From<CancelError> for Refused {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound(id) => Refused::NotFound(id),
            CancelError::NotCancellable(_) | CancelError::BadCount => {
                Refused::Invalid(e.to_string())
            }
            CancelError::Store(e) => Refused::Store(e),
        }
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

pub async fn cancel(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    decide(sendme, CANCEL, method, uri, headers, body).await
}
