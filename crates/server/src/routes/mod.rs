pub mod health;
pub mod sandbox;
pub mod sendme;
