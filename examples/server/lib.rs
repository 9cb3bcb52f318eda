//! The package of the example server (`examples/server.rs`), kept apart so that
//! `cargo run --example server` builds what the server needs and nothing the library's
//! tests need. The server is the example; this library is empty.
