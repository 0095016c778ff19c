//! `RedirectUri::parse` and `matches`: never panic; a registered URI is never
//! `javascript:`/`data:` nor has a fragment, userinfo or backslash; a
//! presented URI matches only the exact string, or for a loopback IP literal
//! the same URI with another port.
#![no_main]

use domain::redirect_uri::RedirectUri;
use libfuzzer_sys::fuzz_target;

const LOOPBACK: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

/// `uri` without its `:port` after a loopback prefix.
fn without_port(uri: &str) -> Option<String> {
    let prefix = LOOPBACK.iter().find(|p| uri.starts_with(*p))?;
    let rest = &uri[prefix.len()..];
    let rest = match rest.strip_prefix(':') {
        Some(p) => p.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    Some(format!("{prefix}{rest}"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // registered \n presented
    let (registered, presented) = text.split_once('\n').unwrap_or((text, text));
    let Ok(uri) = RedirectUri::parse(registered) else {
        return;
    };
    let lower = registered.to_ascii_lowercase();
    assert!(!lower.starts_with("javascript:") && !lower.starts_with("data:"));
    assert!(!registered.contains('#') && !registered.contains('\\'));
    assert!(uri.matches(registered));
    if uri.matches(presented) && presented != registered {
        let (Some(a), Some(b)) = (without_port(registered), without_port(presented)) else {
            panic!("{registered:?} matched {presented:?}");
        };
        assert_eq!(a, b, "{registered:?} matched {presented:?}");
    }
});
