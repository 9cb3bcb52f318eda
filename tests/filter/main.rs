//! The filter language: parsing, printing, evaluation, the RFC's examples and properties
//! over generated input.

mod eval;
mod parse;
mod properties;
mod rfc;
