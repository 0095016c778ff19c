//! Database rows and their conversions to and from the domain records.
//!
//! Reading is fallible: a stored value that no longer parses becomes a
//! [`BadRow`] (then `StoreError::Other`), never a panic.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::client::{AuthMethod, Client, ClientMetadata, GrantType, ResponseType};
use domain::code::AuthorizationCode;
use domain::id_token::Authentication;

use domain::id_token::JwsAlgorithm;
use domain::ids::{ClientId, FamilyId, TokenId, UserId};
use domain::pkce::CodeChallenge;
use domain::redirect_uri::RedirectUri;
use domain::scope::Scope;
use domain::secret::SecretDigest;
use domain::time::{Lifetime, Timestamp};
use domain::token::{TokenKind, TokenRecord};
use domain::user::{DisplayName, EmailAddress, PasswordHash, User, Username};

use super::error::BadRow;
use super::schema::{oauth2_authorization_codes, oauth2_clients, oauth2_tokens, users};

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// `users.id`
    pub id: String,
    /// `users.username`
    pub username: String,
    /// `users.password_hash`
    pub password_hash: String,
    /// `users.created_at`
    pub created_at: NaiveDateTime,
    /// `users.email`: as given.
    pub email: Option<String>,
    /// `users.email_verified`
    pub email_verified: bool,
    /// `users.name`: the display name.
    pub name: Option<String>,
    /// `users.updated_at`
    pub updated_at: NaiveDateTime,
}

/// A new row of `users`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUserRow {
    /// `users.id`
    pub id: String,
    /// `users.username`
    pub username: String,
    /// `users.password_hash`
    pub password_hash: String,
    /// `users.created_at`
    pub created_at: NaiveDateTime,
    /// `users.username_folded`: the unique, case-folded name (RFC 8265 §3.3).
    pub username_folded: Option<String>,
    /// `users.email`
    pub email: Option<String>,
    /// `users.email_folded`: the unique key of the address.
    pub email_folded: Option<String>,
    /// `users.email_verified`
    pub email_verified: bool,
    /// `users.name`
    pub name: Option<String>,
    /// `users.updated_at`
    pub updated_at: NaiveDateTime,
}

impl From<&User> for NewUserRow {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            username: user.username.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            created_at: user.created_at.as_naive_utc(),
            username_folded: Some(user.username.folded()),
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            email_folded: user.email.as_ref().map(EmailAddress::folded),
            email_verified: user.email_verified,
            name: user.name.as_ref().map(|n| n.as_str().to_owned()),
            updated_at: user.updated_at.as_naive_utc(),
        }
    }
}

impl TryFrom<UserRow> for User {
    type Error = BadRow;

    fn try_from(row: UserRow) -> Result<Self, BadRow> {
        Ok(Self {
            id: UserId::parse(&row.id).ok_or(BadRow { column: "users.id" })?,
            username: Username::parse(&row.username).map_err(|_| BadRow {
                column: "users.username",
            })?,
            password_hash: PasswordHash::new(row.password_hash),
            created_at: Timestamp::from_naive_utc(row.created_at),
            email: row
                .email
                .map(|e| EmailAddress::parse(&e))
                .transpose()
                .map_err(|_| BadRow {
                    column: "users.email",
                })?,
            email_verified: row.email_verified,
            name: row
                .name
                .map(|n| DisplayName::parse(&n))
                .transpose()
                .map_err(|_| BadRow {
                    column: "users.name",
                })?,
            updated_at: Timestamp::from_naive_utc(row.updated_at),
        })
    }
}

/// A row of `oauth2_clients` (read and insert).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_clients)]
pub struct ClientRow {
    /// `oauth2_clients.client_id`
    pub client_id: String,
    /// `oauth2_clients.owner_id`
    pub owner_id: String,
    /// `oauth2_clients.secret_digest`: 64 hex digits, NULL for public clients.
    pub secret_digest: Option<String>,
    /// `oauth2_clients.client_name`
    pub client_name: String,
    /// `oauth2_clients.client_uri`
    pub client_uri: Option<String>,
    /// `oauth2_clients.redirect_uris`: newline-separated.
    pub redirect_uris: String,
    /// `oauth2_clients.grant_types`: space-separated wire names.
    pub grant_types: String,
    /// `oauth2_clients.response_types`: space-separated wire names, the
    /// values of a multi-valued one joined by `+` (`id_token+token`).
    pub response_types: String,
    /// `oauth2_clients.scope`
    pub scope: String,
    /// `oauth2_clients.token_endpoint_auth_method`
    pub token_endpoint_auth_method: String,
    /// `oauth2_clients.issued_at`
    pub issued_at: NaiveDateTime,
    /// `oauth2_clients.trusted`: registered or marked by the operator.
    pub trusted: bool,
    /// `oauth2_clients.post_logout_redirect_uris`: newline-separated.
    pub post_logout_redirect_uris: String,
    /// `oauth2_clients.id_token_signed_response_alg`: a JWS `alg` name.
    pub id_token_signed_response_alg: String,
    /// `oauth2_clients.default_max_age`: seconds.
    pub default_max_age: Option<i64>,
    /// `oauth2_clients.require_auth_time`
    pub require_auth_time: bool,
}

/// The new row of a client (same columns as read).
pub type NewClientRow = ClientRow;

impl From<&Client> for ClientRow {
    fn from(client: &Client) -> Self {
        let m = &client.metadata;
        Self {
            client_id: client.id.as_str().to_owned(),
            owner_id: client.owner.to_string(),
            secret_digest: client.secret_digest.as_ref().map(|d| d.as_hex().to_owned()),
            client_name: m.client_name.clone(),
            client_uri: m.client_uri.clone(),
            redirect_uris: join(m.redirect_uris.iter().map(RedirectUri::as_str), "\n"),
            grant_types: join(m.grant_types.iter().map(|g| g.as_str()), " "),
            response_types: m
                .response_types
                .iter()
                .map(|r| r.as_str().replace(' ', "+"))
                .collect::<Vec<_>>()
                .join(" "),
            scope: m.scope.to_string(),
            token_endpoint_auth_method: m.token_endpoint_auth_method.as_str().to_owned(),
            issued_at: client.issued_at.as_naive_utc(),
            trusted: client.trusted,
            post_logout_redirect_uris: join(
                m.post_logout_redirect_uris.iter().map(RedirectUri::as_str),
                "\n",
            ),
            id_token_signed_response_alg: m.id_token_signed_response_alg.as_str().to_owned(),
            default_max_age: m.default_max_age.map(Lifetime::seconds),
            require_auth_time: m.require_auth_time,
        }
    }
}

impl TryFrom<ClientRow> for Client {
    type Error = BadRow;

    fn try_from(row: ClientRow) -> Result<Self, BadRow> {
        let redirect_uris = split(&row.redirect_uris, '\n')
            .map(|uri| RedirectUri::parse(uri).map_err(|_| bad("oauth2_clients.redirect_uris")))
            .collect::<Result<_, _>>()?;
        let grant_types = split(&row.grant_types, ' ')
            .map(|g| GrantType::parse(g).ok_or(bad("oauth2_clients.grant_types")))
            .collect::<Result<_, _>>()?;
        let response_types = split(&row.response_types, ' ')
            .map(|r| {
                ResponseType::parse(&r.replace('+', " "))
                    .ok_or(bad("oauth2_clients.response_types"))
            })
            .collect::<Result<_, _>>()?;
        let post_logout_redirect_uris = split(&row.post_logout_redirect_uris, '\n')
            .map(|uri| {
                RedirectUri::parse(uri).map_err(|_| bad("oauth2_clients.post_logout_redirect_uris"))
            })
            .collect::<Result<_, _>>()?;
        let default_max_age = row
            .default_max_age
            .map(|s| Lifetime::from_seconds(s).ok_or(bad("oauth2_clients.default_max_age")))
            .transpose()?;
        let secret_digest = row
            .secret_digest
            .map(|hex| SecretDigest::from_stored(hex).ok_or(bad("oauth2_clients.secret_digest")))
            .transpose()?;
        Ok(Self {
            id: ClientId::parse(&row.client_id).ok_or(bad("oauth2_clients.client_id"))?,
            owner: UserId::parse(&row.owner_id).ok_or(bad("oauth2_clients.owner_id"))?,
            secret_digest,
            metadata: ClientMetadata {
                client_name: row.client_name,
                client_uri: row.client_uri,
                redirect_uris,
                grant_types,
                response_types,
                scope: Scope::parse(&row.scope).map_err(|_| bad("oauth2_clients.scope"))?,
                token_endpoint_auth_method: AuthMethod::parse(&row.token_endpoint_auth_method)
                    .ok_or(bad("oauth2_clients.token_endpoint_auth_method"))?,
                post_logout_redirect_uris,
                id_token_signed_response_alg: JwsAlgorithm::parse(
                    &row.id_token_signed_response_alg,
                )
                .ok_or(bad("oauth2_clients.id_token_signed_response_alg"))?,
                default_max_age,
                require_auth_time: row.require_auth_time,
            },
            issued_at: Timestamp::from_naive_utc(row.issued_at),
            trusted: row.trusted,
        })
    }
}

/// A row of `oauth2_authorization_codes` (read and insert).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_authorization_codes)]
pub struct CodeRow {
    /// `oauth2_authorization_codes.digest`
    pub digest: String,
    /// `oauth2_authorization_codes.client_id`
    pub client_id: String,
    /// `oauth2_authorization_codes.user_id`
    pub user_id: String,
    /// `oauth2_authorization_codes.redirect_uri`
    pub redirect_uri: Option<String>,
    /// `oauth2_authorization_codes.scope`
    pub scope: String,
    /// `oauth2_authorization_codes.code_challenge`
    pub code_challenge: String,
    /// `oauth2_authorization_codes.family_id`
    pub family_id: String,
    /// `oauth2_authorization_codes.issued_at`
    pub issued_at: NaiveDateTime,
    /// `oauth2_authorization_codes.expires_at`
    pub expires_at: NaiveDateTime,
    /// `oauth2_authorization_codes.used_at`
    pub used_at: Option<NaiveDateTime>,
    /// `oauth2_authorization_codes.nonce`
    pub nonce: Option<String>,
    /// `oauth2_authorization_codes.auth_time`
    pub auth_time: Option<NaiveDateTime>,
    /// `oauth2_authorization_codes.sid`
    pub sid: Option<String>,
    /// `oauth2_authorization_codes.amr`: NULL outside OpenID grants.
    pub amr: Option<String>,
}

/// The new row of a code (same columns as read).
pub type NewCodeRow = CodeRow;

impl From<&AuthorizationCode> for CodeRow {
    fn from(code: &AuthorizationCode) -> Self {
        Self {
            digest: code.digest.as_hex().to_owned(),
            client_id: code.client_id.as_str().to_owned(),
            user_id: code.user_id.to_string(),
            redirect_uri: code.redirect_uri.clone(),
            scope: code.scope.to_string(),
            code_challenge: code.challenge.as_str().to_owned(),
            family_id: code.family.to_string(),
            issued_at: code.issued_at.as_naive_utc(),
            expires_at: code.expires_at.as_naive_utc(),
            used_at: code.used_at.map(Timestamp::as_naive_utc),
            nonce: code.nonce.clone(),
            auth_time: code
                .authentication
                .as_ref()
                .and_then(|a| a.auth_time)
                .map(Timestamp::as_naive_utc),
            sid: code
                .authentication
                .as_ref()
                .and_then(|a| a.session_id.clone()),
            amr: code.authentication.as_ref().map(|a| a.methods.join(" ")),
        }
    }
}

impl TryFrom<CodeRow> for AuthorizationCode {
    type Error = BadRow;

    fn try_from(row: CodeRow) -> Result<Self, BadRow> {
        Ok(Self {
            digest: SecretDigest::from_stored(row.digest)
                .ok_or(bad("oauth2_authorization_codes.digest"))?,
            client_id: ClientId::parse(&row.client_id)
                .ok_or(bad("oauth2_authorization_codes.client_id"))?,
            user_id: UserId::parse(&row.user_id)
                .ok_or(bad("oauth2_authorization_codes.user_id"))?,
            redirect_uri: row.redirect_uri,
            scope: Scope::parse(&row.scope).map_err(|_| bad("oauth2_authorization_codes.scope"))?,
            challenge: CodeChallenge::from_stored(row.code_challenge),
            family: FamilyId::parse(&row.family_id)
                .ok_or(bad("oauth2_authorization_codes.family_id"))?,
            issued_at: Timestamp::from_naive_utc(row.issued_at),
            expires_at: Timestamp::from_naive_utc(row.expires_at),
            used_at: row.used_at.map(Timestamp::from_naive_utc),
            nonce: row.nonce,
            authentication: authentication(row.amr, row.auth_time, row.sid),
        })
    }
}

/// A row of `oauth2_tokens` (read and insert).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_tokens)]
pub struct TokenRow {
    /// `oauth2_tokens.id`
    pub id: String,
    /// `oauth2_tokens.digest`
    pub digest: String,
    /// `oauth2_tokens.family_id`
    pub family_id: String,
    /// `oauth2_tokens.kind`: `access_token` or `refresh_token`.
    pub kind: String,
    /// `oauth2_tokens.client_id`
    pub client_id: String,
    /// `oauth2_tokens.user_id`
    pub user_id: Option<String>,
    /// `oauth2_tokens.scope`
    pub scope: String,
    /// `oauth2_tokens.issued_at`
    pub issued_at: NaiveDateTime,
    /// `oauth2_tokens.expires_at`
    pub expires_at: NaiveDateTime,
    /// `oauth2_tokens.revoked_at`
    pub revoked_at: Option<NaiveDateTime>,
    /// `oauth2_tokens.rotated_at`
    pub rotated_at: Option<NaiveDateTime>,
    /// `oauth2_tokens.auth_time`
    pub auth_time: Option<NaiveDateTime>,
    /// `oauth2_tokens.sid`
    pub sid: Option<String>,
    /// `oauth2_tokens.amr`: NULL outside OpenID grants.
    pub amr: Option<String>,
}

/// The new row of a token (same columns as read).
pub type NewTokenRow = TokenRow;

impl From<&TokenRecord> for TokenRow {
    fn from(token: &TokenRecord) -> Self {
        Self {
            id: token.id.to_string(),
            digest: token.digest.as_hex().to_owned(),
            family_id: token.family.to_string(),
            kind: token.kind.as_str().to_owned(),
            client_id: token.client_id.as_str().to_owned(),
            user_id: token.user_id.map(|u| u.to_string()),
            scope: token.scope.to_string(),
            issued_at: token.issued_at.as_naive_utc(),
            expires_at: token.expires_at.as_naive_utc(),
            revoked_at: token.revoked_at.map(Timestamp::as_naive_utc),
            rotated_at: token.rotated_at.map(Timestamp::as_naive_utc),
            auth_time: token
                .authentication
                .as_ref()
                .and_then(|a| a.auth_time)
                .map(Timestamp::as_naive_utc),
            sid: token
                .authentication
                .as_ref()
                .and_then(|a| a.session_id.clone()),
            amr: token.authentication.as_ref().map(|a| a.methods.join(" ")),
        }
    }
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = BadRow;

    fn try_from(row: TokenRow) -> Result<Self, BadRow> {
        Ok(Self {
            id: TokenId::parse(&row.id).ok_or(bad("oauth2_tokens.id"))?,
            family: FamilyId::parse(&row.family_id).ok_or(bad("oauth2_tokens.family_id"))?,
            kind: TokenKind::parse(&row.kind).ok_or(bad("oauth2_tokens.kind"))?,
            digest: SecretDigest::from_stored(row.digest).ok_or(bad("oauth2_tokens.digest"))?,
            client_id: ClientId::parse(&row.client_id).ok_or(bad("oauth2_tokens.client_id"))?,
            user_id: row
                .user_id
                .map(|u| UserId::parse(&u).ok_or(bad("oauth2_tokens.user_id")))
                .transpose()?,
            scope: Scope::parse(&row.scope).map_err(|_| bad("oauth2_tokens.scope"))?,
            issued_at: Timestamp::from_naive_utc(row.issued_at),
            expires_at: Timestamp::from_naive_utc(row.expires_at),
            revoked_at: row.revoked_at.map(Timestamp::from_naive_utc),
            rotated_at: row.rotated_at.map(Timestamp::from_naive_utc),
            authentication: authentication(row.amr, row.auth_time, row.sid),
        })
    }
}

/// The authentication of an OpenID grant's row: present exactly when `amr`
/// is not NULL (the migration `openid_grants` says why).
fn authentication(
    amr: Option<String>,
    auth_time: Option<NaiveDateTime>,
    sid: Option<String>,
) -> Option<Authentication> {
    amr.map(|amr| Authentication {
        auth_time: auth_time.map(Timestamp::from_naive_utc),
        session_id: sid,
        methods: amr
            .split(' ')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn bad(column: &'static str) -> BadRow {
    BadRow { column }
}

fn join<'a>(items: impl Iterator<Item = &'a str>, separator: &str) -> String {
    items.collect::<Vec<_>>().join(separator)
}

fn split(value: &str, separator: char) -> impl Iterator<Item = &str> {
    value.split(separator).filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::testing::{sample_client, sample_token, t};

    #[test]
    fn client_round_trips_through_its_row() {
        let (client, _) = sample_client(AuthMethod::ClientSecretBasic);

        let back = Client::try_from(ClientRow::from(&client)).ok();

        assert_eq!(back, Some(client));
    }

    #[test]
    fn a_bad_stored_value_is_an_error_not_a_panic() {
        let (client, _) = sample_client(AuthMethod::None);
        let row = ClientRow {
            grant_types: "authorization_code teleport".to_owned(),
            ..(&client).into()
        };

        let error = Client::try_from(row).err().map(|e| e.column);

        assert_eq!(error, Some("oauth2_clients.grant_types"));
    }

    #[test]
    fn every_response_type_round_trips_through_the_client_row() {
        let (mut client, _) = sample_client(AuthMethod::None);
        client.metadata.response_types = ResponseType::ALL.to_vec();

        let row = ClientRow::from(&client);

        assert_eq!(row.response_types, "code token id_token id_token+token");
        assert_eq!(Client::try_from(row).ok(), Some(client));
    }

    #[test]
    fn openid_codes_and_tokens_keep_their_nonce_and_authentication() {
        let (client, _) = sample_client(AuthMethod::None);
        let user = domain::testing::sample_user("alice", "pw");
        let authentication = Authentication {
            auth_time: Some(t(5)),
            session_id: Some("sid-1".to_owned()),
            methods: vec!["pwd".to_owned()],
        };
        let code = AuthorizationCode {
            nonce: Some("n 1".to_owned()),
            authentication: Some(authentication.clone()),
            ..domain::testing::code(&client, &user)
        };
        let bare = AuthorizationCode {
            authentication: Some(Authentication::default()),
            ..domain::testing::code(&client, &user)
        };
        let token = TokenRecord {
            authentication: Some(authentication),
            ..sample_token(TokenKind::Refresh, t(0), t(60))
        };

        for code in [code, bare, domain::testing::code(&client, &user)] {
            assert_eq!(
                AuthorizationCode::try_from(CodeRow::from(&code)).ok(),
                Some(code)
            );
        }
        assert_eq!(
            TokenRecord::try_from(TokenRow::from(&token)).ok(),
            Some(token)
        );
    }

    #[test]
    fn token_round_trips_through_its_row() {
        let token = sample_token(TokenKind::Refresh, t(0), t(60));

        assert_eq!(
            TokenRecord::try_from(TokenRow::from(&token)).ok(),
            Some(token)
        );
    }
}
