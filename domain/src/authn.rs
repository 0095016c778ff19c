//! How a user signed in, in the terms relying parties read: the
//! Authentication Method Reference values of RFC 8176 (`amr`) and this
//! server's two Authentication Context Class References (`acr`, OpenID
//! Connect Core §2). The login pages record the methods in the session;
//! the ID token states them.

/// RFC 8176 §2 values this server states.
pub mod amr {
    /// A password.
    pub const PASSWORD: &str = "pwd";
    /// A one-time password (TOTP, RFC 6238; a recovery code too).
    pub const OTP: &str = "otp";
    /// Proof of possession of a hardware-protected key (a passkey that
    /// cannot leave its authenticator).
    pub const HARDWARE_KEY: &str = "hwk";
    /// Proof of possession of a software-protected key (a synced passkey).
    pub const SOFTWARE_KEY: &str = "swk";
    /// A user-presence test (the authenticator's user verification).
    pub const USER_PRESENCE: &str = "user";
    /// Multiple-factor authentication.
    pub const MULTI_FACTOR: &str = "mfa";
}

/// `acr` of a sign-in with one factor (a password alone).
pub const ACR_PASSWORD: &str = "urn:oauth2-server:acr:password";
/// `acr` of a multi-factor sign-in (password and one-time code, or a
/// passkey with user verification).
pub const ACR_MFA: &str = "urn:oauth2-server:acr:mfa";
/// Every `acr` this server can state, weakest first (Discovery 1.0 §3
/// `acr_values_supported`).
pub const ACR_VALUES_SUPPORTED: [&str; 2] = [ACR_PASSWORD, ACR_MFA];

/// Whether the methods of a sign-in make it multi-factor.
#[must_use]
pub fn is_multi_factor(methods: &[String]) -> bool {
    methods.iter().any(|m| m == amr::MULTI_FACTOR)
}

/// The `acr` that a sign-in with `methods` reaches.
#[must_use]
pub fn acr_of(methods: &[String]) -> &'static str {
    if is_multi_factor(methods) {
        ACR_MFA
    } else {
        ACR_PASSWORD
    }
}

/// The methods of a sign-in with a passkey whose authenticator verified
/// the user (WebAuthn Level 3 §6.2.3: a PIN or biometric on a device the
/// user holds is a multi-factor authenticator): `hwk` for a key that
/// cannot leave its authenticator, `swk` for a synced one (backup
/// eligible, §6.1.3), then `user` and `mfa`.
#[must_use]
pub fn passkey_methods(backup_eligible: bool) -> Vec<String> {
    let key = if backup_eligible {
        amr::SOFTWARE_KEY
    } else {
        amr::HARDWARE_KEY
    };
    methods_of(&[key, amr::USER_PRESENCE, amr::MULTI_FACTOR])
}

/// The methods of a sign-in made of `factors` (each already an `amr`
/// value), with `mfa` added when there are two factors or more of
/// different kinds (RFC 8176 §2 `mfa`), without duplicates, in order.
#[must_use]
pub fn methods_of(factors: &[&str]) -> Vec<String> {
    let mut methods: Vec<String> = Vec::new();
    for factor in factors {
        if !methods.iter().any(|m| m == factor) {
            methods.push((*factor).to_owned());
        }
    }
    let kinds = methods
        .iter()
        .filter(|m| m.as_str() != amr::MULTI_FACTOR && m.as_str() != amr::USER_PRESENCE)
        .count();
    if kinds >= 2 && !is_multi_factor(&methods) {
        methods.push(amr::MULTI_FACTOR.to_owned());
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_alone_is_one_factor() {
        let methods = methods_of(&[amr::PASSWORD]);
        assert_eq!(methods, ["pwd"]);
        assert_eq!(acr_of(&methods), ACR_PASSWORD);
    }

    #[test]
    fn a_password_and_a_code_are_multi_factor() {
        let methods = methods_of(&[amr::PASSWORD, amr::OTP]);
        assert_eq!(methods, ["pwd", "otp", "mfa"]);
        assert_eq!(acr_of(&methods), ACR_MFA);
    }

    #[test]
    fn user_presence_does_not_count_as_a_second_factor() {
        let methods = methods_of(&[amr::HARDWARE_KEY, amr::USER_PRESENCE]);
        assert_eq!(methods, ["hwk", "user"]);
        assert!(!is_multi_factor(&methods));
    }

    #[test]
    fn an_explicit_mfa_is_kept_once() {
        let methods = methods_of(&[amr::SOFTWARE_KEY, amr::USER_PRESENCE, amr::MULTI_FACTOR]);
        assert_eq!(methods, ["swk", "user", "mfa"]);
        assert_eq!(acr_of(&methods), ACR_MFA);
    }

    #[test]
    fn a_verified_passkey_is_multi_factor() {
        assert_eq!(passkey_methods(false), ["hwk", "user", "mfa"]);
        assert_eq!(passkey_methods(true), ["swk", "user", "mfa"]);
        assert_eq!(acr_of(&passkey_methods(true)), ACR_MFA);
    }

    #[test]
    fn duplicates_are_dropped() {
        assert_eq!(methods_of(&[amr::PASSWORD, amr::PASSWORD]), ["pwd"]);
    }
}
