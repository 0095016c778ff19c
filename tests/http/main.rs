//! Black-box tests of the running server over HTTP. One test binary, since
//! linking is the slow part on a small machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod api_me;
mod bad_input;
mod browser_pages;
mod browser_smoke;
mod brute_force;
mod concurrency;
mod faults;
mod hardening_accounts;
mod hardening_clients;
mod hardening_clients_browser;
mod hardening_infra;
mod hardening_protocol;
mod introspection;
mod metadata;
mod oauth2_client;
mod openid_rp;
mod openid_tokens;

mod oidc_logout;

mod oidc_prompt;
mod operations;
mod revocation;
mod security_bearer;
mod security_browser;
mod security_client_auth;
mod security_code;
mod security_input;
mod security_logging;
mod security_pkce;
mod security_redirect;
mod security_refresh;
mod security_revocation;
mod security_tokens;
mod signing_keys;
mod storage;
mod token_endpoint;
mod userinfo;
mod web_accounts;
mod web_authorize;
mod web_clients;
