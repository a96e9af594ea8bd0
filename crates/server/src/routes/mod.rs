pub mod h2h;
pub mod health;
pub mod sandbox;
pub mod sandbox_cashout;
pub mod sendme;
