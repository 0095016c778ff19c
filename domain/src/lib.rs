//! The OAuth 2.0 protocol core of the authorization server.
//!
//! Pure logic over plain data: clients and their metadata, users, scopes,
//! PKCE, redirect-URI rules, authorization codes, tokens and token families,
//! and the rules of every grant, client authentication, revocation,
//! introspection and bearer validation. What the core needs from outside
//! (storage, time, randomness, password hashing) it names as ports in
//! [`ports`]; it never calls a framework, a database, a clock or an RNG.

#![warn(missing_docs)]

pub mod acr_request;
pub mod authn;
pub mod claims;
pub mod client;
pub mod client_auth;
pub mod code;
pub mod device;
pub mod discovery;
pub mod display_text;
pub mod error;
pub mod id_token;
pub mod ids;
pub mod params;
pub mod pkce;
pub mod ports;
pub mod redirect_uri;
pub mod scope;
pub mod secret;
pub mod service;
pub mod signing_key;
pub mod time;
pub mod token;
pub mod user;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
