//! The integration tests: the built binary, driven by real git, against a
//! private Secret Service. One test binary; `env` holds the shared harness.

mod conformance;
mod env;
mod fake_forge;
mod faults;
mod forge;
mod helper;
