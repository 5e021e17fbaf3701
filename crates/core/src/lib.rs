//! Packbench's core: the warehouse's typed values ([`domain`]), the order workflow as a pure
//! state machine ([`workflow`]), the use cases ([`service`]) and the ports they need
//! ([`ports`]). It depends on no other crate of the workspace; adapters depend on it.

pub mod devices;
pub mod domain;
pub mod error;
pub mod gs1;

pub mod model;
pub mod ports;
pub mod service;
pub mod settings;
pub mod weighing;
pub mod workflow;

pub use error::{Error, ErrorCode, Result};
