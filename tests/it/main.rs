//! The integration tests: the built binary, driven by real git, against a
//! private Secret Service. One test binary; `env` holds the shared harness.

mod adopt;
mod conformance;
mod env;
mod expiry;
mod fake_forge;
mod faults;
mod forge;
mod git_server;
mod helper;
mod load;
mod security;
