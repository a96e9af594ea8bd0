//! The sandbox side of cash-out (`/sandbox/cashout/…`): the network simulators run
//! inside the gateway against its own host-to-host API, timed by the sandbox
//! clock; fault injection on the gateway's answers; the code key's public half.

use crate::error::ErrorBody;
use crate::error::{ApiError, JsonBody, JsonPath};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use gerbang_app::cashout::faults::{Armed, Fault, Operation};
use gerbang_app::cashout::{Network, NetworkRules};
use gerbang_app::App;
use gerbang_channels::cashout_sim::{CallRecord, Cashier, Habits, Outcome, Pace};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Sessions remembered; the oldest are forgotten past this.
const MAX_SESSIONS: usize = 1000;
/// Sessions running at once.
const MAX_RUNNING: usize = 100;
/// Longest answer delay a fault may ask for: a day.
const MAX_DELAY_SECONDS: u64 = 24 * 3600;
const MAX_FAULT_COUNT: u32 = 100;

pub struct SandboxCashout {
    app: Arc<App>,
    sessions: Mutex<Sessions>,
}

/// Sessions by id, and their ids oldest first.
#[derive(Default)]
struct Sessions {
    order: VecDeque<String>,
    by_id: HashMap<String, Arc<Mutex<SessionView>>>,
}

type Shared = Arc<SandboxCashout>;

#[derive(Clone, serde::Serialize)]
struct SessionView {
    id: String,
    network: Network,
    state: &'static str,
    calls: Vec<CallRecord>,
    outcome: Option<Outcome>,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/sandbox/cashout/faults", post(arm_fault).get(list_faults))
        .route("/sandbox/cashout/public-key", get(public_key))
        .route("/sandbox/cashout/:network/:action", post(start_session))
        .route("/sandbox/cashout/sessions/:id", get(show_session))
        .with_state(Arc::new(SandboxCashout {
            app,
            sessions: Mutex::new(Sessions::default()),
        }))
}

/// Waits on the gateway's clock, so advancing it moves a simulator's timeouts on.
pub(crate) struct SandboxPace(pub Arc<App>);

#[async_trait::async_trait]
impl Pace for SandboxPace {
    async fn sleep(&self, seconds: u64) {
        self.0.clock.sleep(seconds).await
    }
}

/// A cashier or ATM of `network` that calls this gateway's own host-to-host API
/// with the network's key.
pub(crate) fn cashier(app: &App, network: Network) -> Result<Cashier, ApiError> {
    let base_url = app
        .self_url
        .get()
        .cloned()
        .ok_or_else(|| ApiError::internal("the gateway does not know its own address"))?;
    let rules = network.rules(&app.config.cashout, app.config.mode);
    let habits = Habits::of(network.slug())
        .ok_or_else(|| ApiError::internal("no simulator for this network"))?;
    Ok(Cashier {
        base_url,
        key: rules.key,
        secret: rules.secret.unwrap_or_default(),
        habits,
        terminal: format!("{}-SANDBOX", network.slug().to_uppercase()),
    })
}

fn network(slug: &str) -> Result<Network, ApiError> {
    Network::by_slug(slug)
        .ok_or_else(|| ApiError::not_found("no such network (alfamart, indomaret or permata)"))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    network: String,
    operation: String,
    mode: String,
    delay_seconds: Option<u64>,
    count: Option<u32>,
}

/// Arms a fault in a cash-out network's next calls: lost, or slow.
#[utoipa::path(post, path = "/sandbox/cashout/faults", tag = "sandbox: cash-out", request_body = FaultRequest, responses((status = 200, description = "`armed`: every fault still armed", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody)))]
async fn arm_fault(
    State(s): State<Shared>,
    JsonBody(req): JsonBody<FaultRequest>,
) -> Result<Json<Value>, ApiError> {
    let network = network(&req.network)?;
    let operation = Operation::by_name(&req.operation)
        .ok_or_else(|| ApiError::bad_request("operation: inquiry, payment, reversal or advice"))?;
    let fault = match (req.mode.as_str(), req.delay_seconds) {
        ("lost", None) => Fault::Lost,
        ("slow", Some(d)) if (1..=MAX_DELAY_SECONDS).contains(&d) => {
            Fault::Slow { delay_seconds: d }
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "mode: \"lost\", or \"slow\" with delay_seconds from 1 to {MAX_DELAY_SECONDS}"
            )))
        }
    };
    let count = req.count.unwrap_or(1);
    if count > MAX_FAULT_COUNT {
        return Err(ApiError::bad_request(format!(
            "count: at most {MAX_FAULT_COUNT}"
        )));
    }
    s.app
        .cashout_faults
        .arm(Armed {
            network,
            operation,
            fault,
            count,
        })
        .map_err(ApiError::bad_request)?;
    Ok(Json(json!({ "armed": s.app.cashout_faults.list() })))
}

/// The faults armed.
#[utoipa::path(get, path = "/sandbox/cashout/faults", tag = "sandbox: cash-out", responses((status = 200, description = "`armed`: every fault still armed", body = Object)))]
async fn list_faults(State(s): State<Shared>) -> Json<Value> {
    Json(json!({ "armed": s.app.cashout_faults.list() }))
}

/// The public key of cash-out codes.
#[utoipa::path(get, path = "/sandbox/cashout/public-key", tag = "sandbox: cash-out", responses((status = 200, description = "`public_key_pem` and `created_at` of the key Permata codes are encrypted with", body = Object)))]
async fn public_key(State(s): State<Shared>) -> Result<Json<Value>, ApiError> {
    let key = s
        .app
        .code_keys
        .current(&s.app.store, s.app.now())
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(json!({
        "public_key_pem": key.public_pem(),
        "created_at": key.created_at().rfc3339(),
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CashCodeClaim)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    code: String,
    phone: String,
    /// Whole rupiah; default: what the inquiry says.
    amount: Option<i64>,
    /// Seconds of sandbox time to wait for the payment answer.
    timeout_seconds: Option<u64>,
}

/// A customer claims a cash-out code at a store or ATM, as the network would call.
#[utoipa::path(post, path = "/sandbox/cashout/{network}/{action}", tag = "sandbox: cash-out", params(("network" = String, Path, description = "`alfamart`, `indomaret` or `permata`"), ("action" = String, Path, description = "`pay`: a customer claims a code at the counter or ATM")), request_body = PayRequest, responses((status = 202, description = "`session`, `state` `running`: the network's calls go on in the background", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody)))]
async fn start_session(
    State(s): State<Shared>,
    JsonPath((slug, action)): JsonPath<(String, String)>,
    JsonBody(req): JsonBody<PayRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let network = network(&slug)?;
    if req.code.len() > 32 || req.phone.len() > 20 {
        return Err(ApiError::bad_request(
            "code: at most 32 characters; phone: at most 20",
        ));
    }
    if req
        .timeout_seconds
        .is_some_and(|t| !(1..=3600).contains(&t))
        || req
            .amount
            .is_some_and(|a| !(1..=1_000_000_000_000).contains(&a))
    {
        return Err(ApiError::bad_request(
            "timeout_seconds: 1 to 3600; amount: a positive number of rupiah",
        ));
    }
    let expected = if network == Network::Permata {
        "withdraw"
    } else {
        "pay"
    };
    if action != expected {
        return Err(ApiError::not_found(format!(
            "the {} simulator does: {expected}",
            network.slug()
        )));
    }
    let cashier = cashier(&s.app, network)?;
    let id = uuid_like();
    let view = Arc::new(Mutex::new(SessionView {
        id: id.clone(),
        network,
        state: "running",
        calls: Vec::new(),
        outcome: None,
    }));
    {
        let mut sessions = s.sessions.lock().expect("sessions");
        let running = sessions
            .by_id
            .values()
            .filter(|v| v.lock().expect("session").state == "running")
            .count();
        if running >= MAX_RUNNING {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("at most {MAX_RUNNING} simulator sessions at once"),
            ));
        }
        if sessions.order.len() >= MAX_SESSIONS {
            if let Some(old) = sessions.order.pop_front() {
                sessions.by_id.remove(&old);
            }
        }
        sessions.order.push_back(id.clone());
        sessions.by_id.insert(id.clone(), view.clone());
    }
    let pace = SandboxPace(s.app.clone());
    tokio::spawn(async move {
        let record = {
            let view = view.clone();
            move |call: &CallRecord| view.lock().expect("session").calls.push(call.clone())
        };
        let session = cashier
            .pay(
                &req.code,
                &req.phone,
                req.amount,
                &pace,
                req.timeout_seconds,
                &record,
            )
            .await;
        let mut v = view.lock().expect("session");
        v.outcome = Some(session.outcome);
        v.state = "done";
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "session": id, "state": "running" })),
    ))
}

/// Where a claim session stands.
#[utoipa::path(get, path = "/sandbox/cashout/sessions/{id}", tag = "sandbox: cash-out", params(("id" = String, Path, description = "The session's id")), responses((status = 200, description = "The session: its state and each call made with its answer", body = Object), (status = 404, description = "No such session", body = ErrorBody)))]
async fn show_session(
    State(s): State<Shared>,
    JsonPath(id): JsonPath<String>,
) -> Result<Json<Value>, ApiError> {
    let view = s
        .sessions
        .lock()
        .expect("sessions")
        .by_id
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("no such session"))?;
    let v = view.lock().expect("session").clone();
    Ok(Json(serde_json::to_value(v).map_err(ApiError::internal)?))
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
        .collect()
}

/// The cash-out sandbox's operations, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(arm_fault, list_faults, public_key, start_session, show_session),
    components(schemas(FaultRequest, PayRequest, ErrorBody))
)]
pub struct Api;
