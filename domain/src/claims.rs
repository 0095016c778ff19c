//! The end-user claims a scope releases (OpenID Connect Core §5.4): what
//! UserInfo answers and what an ID token carries when no access token is
//! issued. `sub` is always the user's stable id and is not listed here.

use crate::id_token::ClaimValue;
use crate::scope::Scope;
use crate::user::User;

/// The claims `scope` releases about `user`, in a stable order: for
/// `profile`, `name` (when set), `preferred_username` and `updated_at`
/// (seconds since the epoch, Core §5.1); for `email`,
/// `email` and `email_verified` (when an address is set). A claim with no
/// value is omitted rather than sent as null (Core §5.3.2).
#[must_use]
pub fn released_claims(user: &User, scope: &Scope) -> Vec<(String, ClaimValue)> {
    let mut claims = Vec::new();
    if scope.contains("profile") {
        if let Some(name) = &user.name {
            claims.push(("name".to_owned(), ClaimValue::Text(name.to_string())));
        }
        claims.push((
            "preferred_username".to_owned(),
            ClaimValue::Text(user.username.to_string()),
        ));
        claims.push((
            "updated_at".to_owned(),
            ClaimValue::Number(user.updated_at.unix_seconds()),
        ));
    }
    if scope.contains("email") {
        if let Some(email) = &user.email {
            claims.push(("email".to_owned(), ClaimValue::Text(email.to_string())));
            claims.push((
                "email_verified".to_owned(),
                ClaimValue::Bool(user.email_verified),
            ));
        }
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_user;
    use crate::user::{DisplayName, EmailAddress};

    fn scope(value: &str) -> Scope {
        Scope::parse(value).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn each_scope_releases_only_its_claims() {
        let mut user = sample_user("alice", "pw");
        user.email = EmailAddress::parse("Alice@Example.com").ok();
        user.email_verified = true;
        user.name = DisplayName::parse("Alice Liddell").ok();
        let names = |s: &str| -> Vec<String> {
            released_claims(&user, &scope(s))
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(names("openid"), Vec::<String>::new());
        assert_eq!(
            names("openid profile"),
            ["name", "preferred_username", "updated_at"]
        );
        assert_eq!(names("openid email"), ["email", "email_verified"]);
        assert!(released_claims(&user, &scope("email"))
            .contains(&("email_verified".to_owned(), ClaimValue::Bool(true))));
    }

    #[test]
    fn absent_values_are_omitted() {
        let user = sample_user("bob", "pw");
        assert_eq!(
            released_claims(&user, &scope("profile email")),
            [
                (
                    "preferred_username".to_owned(),
                    ClaimValue::Text("bob".to_owned())
                ),
                (
                    "updated_at".to_owned(),
                    ClaimValue::Number(user.updated_at.unix_seconds())
                ),
            ]
        );
    }

    #[test]
    fn updated_at_is_the_last_change_in_seconds_since_the_epoch() {
        let mut user = sample_user("bob", "pw");
        user.updated_at = crate::time::Timestamp::from_unix_seconds(1_700_000_123).unwrap();
        assert!(released_claims(&user, &scope("profile"))
            .contains(&("updated_at".to_owned(), ClaimValue::Number(1_700_000_123))));
        assert!(!released_claims(&user, &scope("openid email"))
            .iter()
            .any(|(name, _)| name == "updated_at"));
    }
}
