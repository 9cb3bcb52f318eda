//! The example servers over real HTTP on loopback.

#[cfg(feature = "sqlite")]
mod examples;
