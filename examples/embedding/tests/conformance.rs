//! The application's store passes every rule of scimkit's store conformance suite.

use scimkit_example_embedding::AppStore;

scimkit::store_conformance_tests!(AppStore::new());
