pub mod h2h;
pub mod health;
pub mod sandbox;
pub mod sendme;
