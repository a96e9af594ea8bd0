//! gerbang's application layer: what happens between a decoded request and the
//! store. It owns the payout domain's workflows ([`payout`], [`cashout`]),
//! configuration, principals and provisioning, funding, the clock, and the two
//! background workers (notifier and scheduler). Its workflows never speak a wire
//! protocol: a face decodes requests into domain commands, and [`faces`] picks the
//! face that renders a notice; nor does it write SQL (the store's job).

pub mod backup;
pub mod beneficiary;
pub mod cashin;
pub mod cashout;
pub mod config;
pub mod demo;
pub mod faces;
pub mod funding;
pub mod h2h;
pub mod keys;
pub mod notifier;
pub mod payin;
pub mod payout;
pub mod principals;
pub mod provision;
mod remembered;
pub mod request_id;
pub mod restore;
pub mod sandbox_clock;
pub mod scheduler;
pub mod settings;
pub mod statements;
mod stored;
mod token_key;
pub mod transactions;
pub mod users;
mod worker;

use config::{Config, Mode};
use gerbang_channels::bank::{simulator::SimulatedBanks, BankNetwork};
use gerbang_channels::ewallet::{ChannelRouter, SimulatedWallets};
use gerbang_core::ledger::{codes, AccountKind, NewAccount};
use gerbang_core::{Clock, Currency, Timestamp};
use gerbang_store::{SharedStore, Step, StepError, StepOutcome};
use sandbox_clock::PersistedClock;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The running gateway's shared state.
pub struct App {
    pub store: SharedStore,
    pub clock: Arc<PersistedClock>,
    pub config: Config,
    pub wake_notifier: Arc<Notify>,
    pub wake_scheduler: Arc<Notify>,
    /// The networks disbursements go out through: banks, and e-wallets by their codes.
    pub banks: Arc<dyn BankNetwork>,
    /// Partners as their requests name them, remembered for a moment.
    pub partners: principals::PartnerCache,
    /// The channels bills are paid through: they open bills and give refunds.
    pub collectors: Arc<dyn gerbang_channels::collect::Collector>,
    /// The built-in bank simulator (the sandbox API scripts it).
    pub simulated_banks: Arc<SimulatedBanks>,
    /// Confirmed beneficiaries, which never change once written.
    pub beneficiaries: beneficiary::BeneficiaryCache,
    /// The RSA key pair that encrypts Permata cash-out codes.
    pub code_keys: keys::StoredKeys,
    /// The RSA key pair that signs the SNAP calls the gateway makes.
    pub signing_keys: keys::StoredKeys,
    /// The key that signs access tokens, read or made on first use.
    token_key: tokio::sync::OnceCell<gerbang_protocol::token::TokenKey>,
    /// Where this gateway's HTTP server listens (`http://addr`), once it does.
    pub self_url: std::sync::OnceLock<String>,
    /// Sandbox faults armed on the cash-out networks' answers.
    pub cashout_faults: cashout::faults::Faults,
    /// New references wait while this database is an unconfirmed restored backup.
    pub restore_guard: restore::RestoreGuard,
}

impl App {
    /// Opens (and migrates) the store and makes sure the operator's own accounts exist.
    pub async fn open(config: Config) -> anyhow::Result<Arc<App>> {
        let store = gerbang_store::connect(&config.database_url)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Self::with_store(config, store).await
    }

    pub async fn with_store(config: Config, store: SharedStore) -> anyhow::Result<Arc<App>> {
        let clock = PersistedClock::load(store.clone(), config.mode == Mode::Sandbox)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let simulated_banks = Arc::new(SimulatedBanks::new(store.clone()));
        let app = App {
            clock: Arc::new(clock),
            config,
            wake_notifier: Arc::new(Notify::new()),
            wake_scheduler: Arc::new(Notify::new()),
            banks: Arc::new(ChannelRouter {
                banks: simulated_banks.clone(),
                wallets: Arc::new(SimulatedWallets::new(store.clone())),
            }),
            simulated_banks,
            collectors: Arc::new(gerbang_channels::collect::SimulatedCollectors),
            partners: principals::PartnerCache::default(),
            beneficiaries: beneficiary::BeneficiaryCache::default(),
            code_keys: keys::StoredKeys::new(keys::KeyUse::CashoutCodes),
            signing_keys: keys::StoredKeys::new(keys::KeyUse::SnapSignatures),
            token_key: tokio::sync::OnceCell::new(),
            cashout_faults: cashout::faults::Faults::default(),
            self_url: std::sync::OnceLock::new(),
            restore_guard: restore::RestoreGuard::load(&store)
                .await
                .map_err(|e| anyhow::anyhow!("cannot read the restore state: {e}"))?,
            store,
        };
        app.commit(Step {
            accounts: vec![
                NewAccount {
                    code: codes::OPERATOR_FUNDING.into(),
                    kind: AccountKind::OperatorFunding,
                    currency: Currency::Idr,
                },
                NewAccount {
                    code: codes::FEES.into(),
                    kind: AccountKind::Fees,
                    currency: Currency::Idr,
                },
            ],
            ..Step::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the operator accounts: {e}"))?;
        Ok(Arc::new(app))
    }

    /// The base of links handed to customers' browsers: `[public_url]`, else the
    /// address this gateway listens on.
    pub fn public_base(&self) -> String {
        match &self.config.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => self.self_url.get().cloned().unwrap_or_default(),
        }
    }

    /// The key that signs access tokens, shared by every process on the database.
    pub async fn token_key(
        &self,
    ) -> Result<&gerbang_protocol::token::TokenKey, gerbang_store::StoreError> {
        self.token_key
            .get_or_try_init(|| token_key::load_or_create(self))
            .await
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn is_sandbox(&self) -> bool {
        self.config.mode == Mode::Sandbox
    }

    /// Moves the sandbox clock `seconds` forward (1 s to a year) and wakes the
    /// workers, so whatever just fell due runs now. Refused in production.
    pub async fn advance_clock(&self, seconds: i64) -> Result<Timestamp, String> {
        if !(1..=sandbox_clock::MAX_ADVANCE_SECONDS).contains(&seconds) {
            return Err(format!(
                "seconds: from 1 to {}",
                sandbox_clock::MAX_ADVANCE_SECONDS
            ));
        }
        let now = self.clock.advance(seconds).await?;
        self.wake_scheduler.notify_one();
        self.wake_notifier.notify_one();
        Ok(now)
    }

    /// Commits a step at the gateway's clock and wakes the workers it gave work to.
    pub async fn commit(&self, mut step: Step) -> Result<StepOutcome, StepError> {
        if let Some(id) = request_id::current() {
            for n in &mut step.notifications {
                n.request_id.get_or_insert_with(|| id.clone());
            }
        }
        let wakes_notifier = !step.notifications.is_empty();
        let wakes_scheduler = !step.timers.is_empty();
        let outcome = self.store.commit(self.now(), step).await?;
        if wakes_notifier {
            self.wake_notifier.notify_one();
        }
        if wakes_scheduler {
            self.wake_scheduler.notify_one();
        }
        Ok(outcome)
    }

    /// The scheduler with every timer handler of the gateway. Workers run it in a
    /// loop; tests fire its due timers one round at a time.
    pub fn scheduler(self: &Arc<Self>) -> scheduler::Scheduler {
        scheduler::Scheduler::new(
            self.store.clone(),
            self.clock.clone(),
            self.config.scheduler.clone(),
            scheduler::Handlers::new([
                (
                    payout::DISPATCH_TIMER,
                    Arc::new(payout::Dispatcher { app: self.clone() })
                        as Arc<dyn scheduler::TimerHandler>,
                ),
                (
                    cashout::EXPIRY_TIMER,
                    Arc::new(cashout::expiry::Expirer { app: self.clone() }),
                ),
                (
                    payout::batch::BATCH_TIMER,
                    Arc::new(payout::batch::BatchDispatcher::new(self.clone())),
                ),
                (
                    payin::EXPIRY_TIMER,
                    Arc::new(payin::expiry::Expirer { app: self.clone() }),
                ),
                (
                    cashin::BULK_TIMER,
                    Arc::new(cashin::BulkRunner { app: self.clone() }),
                ),
                (
                    payin::REFUND_TIMER,
                    Arc::new(payin::RefundSettler { app: self.clone() }),
                ),
                (
                    payout::mass::DISPATCH_TIMER,
                    Arc::new(payout::mass::Dispatcher { app: self.clone() }),
                ),
            ]),
            self.wake_scheduler.clone(),
        )
    }

    /// Starts the notifier and the scheduler; they stop when `cancel` fires.
    pub async fn start_workers(
        self: &Arc<Self>,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Vec<JoinHandle<()>>> {
        self.store
            .release_leases()
            .await
            .map_err(|e| anyhow::anyhow!("cannot free the leases of a previous run: {e}"))?;
        let clock: Arc<dyn Clock> = self.clock.clone();
        let notifier = notifier::Notifier::new(
            self.store.clone(),
            clock,
            config::NotifierConfig {
                allow_internal_destinations: Some(self.config.internal_destinations_allowed()),
                ..self.config.notifier.clone()
            },
            self.wake_notifier.clone(),
        )
        .map_err(|e| anyhow::anyhow!("cannot build the notifier: {e}"))?;
        let scheduler = self.scheduler();
        let mut workers = vec![
            tokio::spawn(notifier.run(cancel.clone())),
            tokio::spawn(scheduler.run(cancel.clone())),
        ];
        if self.config.backup.folder.is_some() {
            // A PostgreSQL database cannot be copied this way: refused at the start.
            backup::sqlite_path(&self.config.database_url)
                .map_err(|e| anyhow::anyhow!("[backup] folder is set, but {e}"))?;
            workers.push(tokio::spawn(backup::run(
                self.config.database_url.clone(),
                self.config.backup.clone(),
                cancel.clone(),
            )));
        }
        Ok(workers)
    }
}
