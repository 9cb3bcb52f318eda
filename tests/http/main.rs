//! The example servers over real HTTP on loopback.

mod examples;
