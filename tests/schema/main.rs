//! Schemas: the registry, normalisation and validation of incoming resources, projection,
//! and the typed resource views.

mod normalize;
mod projection;
mod registry;
mod resources;
