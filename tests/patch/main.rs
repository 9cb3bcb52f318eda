//! PATCH: the RFC's examples, what identity providers send, errors, and member changes a
//! store applies on its own.

mod errors;
mod idp;
mod members;
mod rfc;
