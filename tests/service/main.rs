//! The service in process: endpoints, identity providers' request sequences, Bulk,
//! tenants, the activity log, roles and renderings.

#[path = "../common/mod.rs"]
mod common;

mod activity_log;
mod bulk;
mod endpoints;
mod idps;
mod rendered;
mod roles;
mod spans;
mod tenants;
mod tower;
