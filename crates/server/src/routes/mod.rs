pub mod health;
pub mod sandbox;
