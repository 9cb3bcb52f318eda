//! Stores: the in-memory and SQLite stores against the conformance suite, and filters
//! translated to SQL against the evaluator (SQLite, and a real PostgreSQL server).

#[cfg(feature = "sql")]
#[path = "../generators/mod.rs"]
mod generators;

mod memory;
mod postgres;
mod postgres_store;
mod sqlite;
