use diesel::prelude::*;
use domain::error::StoreError;
use domain::ids::{ClientId, FamilyId, TokenId, UserId};
use domain::ports::{GrantSummary, Rotation, TokenRepository};
use domain::secret::SecretDigest;
use domain::time::Timestamp;
use domain::token::{NewTokens, TokenKind, TokenRecord};
use domain::user::User;

use super::{convert, convert_one};
use crate::db::rows::{NewTokenRow, TokenRow, UserRow};
use crate::db::schema::oauth2_tokens as tokens;
use crate::db::schema::users;
use crate::db::{AnyConnection, DieselStore};

/// Inserts the access token and the refresh token, if any, one row at a time
/// (batch inserts differ between the backends).
pub(super) fn insert_token_rows(conn: &mut AnyConnection, new: &NewTokens) -> QueryResult<()> {
    for token in std::iter::once(&new.access).chain(new.refresh.as_ref()) {
        diesel::insert_into(tokens::table)
            .values(NewTokenRow::from(token))
            .execute(conn)?;
    }
    Ok(())
}

/// Most passes of the family revocation (each pass catches the tokens of
/// one rotation that raced the previous one).
const REVOKE_PASSES: usize = 8;

impl TokenRepository for DieselStore {
    fn insert_tokens(&self, new: &NewTokens) -> Result<(), StoreError> {
        let new = new.clone();
        self.write_tx(move |conn| insert_token_rows(conn, &new))
    }

    fn find_token(&self, digest: &SecretDigest) -> Result<Option<TokenRecord>, StoreError> {
        self.with_conn(|conn| {
            let row = tokens::table
                .filter(tokens::digest.eq(digest.as_hex()))
                .select(TokenRow::as_select())
                .get_result(conn)
                .optional()?;
            convert_one(row)
        })
    }

    fn find_token_with_user(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<(TokenRecord, Option<User>)>, StoreError> {
        self.with_conn(|conn| {
            let row: Option<(TokenRow, Option<UserRow>)> = tokens::table
                .left_join(users::table)
                .filter(tokens::digest.eq(digest.as_hex()))
                .select((TokenRow::as_select(), Option::<UserRow>::as_select()))
                .get_result(conn)
                .optional()?;
            match row {
                None => Ok(None),
                Some((token, user)) => {
                    let token = TokenRecord::try_from(token)?;
                    let user = user.map(User::try_from).transpose()?;
                    Ok(Some((token, user)))
                }
            }
        })
    }

    fn rotate_refresh(
        &self,
        old: &TokenId,
        now: Timestamp,
        new: &NewTokens,
    ) -> Result<Rotation, StoreError> {
        let (old, new) = (old.to_string(), new.clone());
        self.write_tx(move |conn| {
            let marked = diesel::update(
                tokens::table
                    .find(&old)
                    .filter(tokens::rotated_at.is_null())
                    .filter(tokens::revoked_at.is_null()),
            )
            .set(tokens::rotated_at.eq(now.as_naive_utc()))
            .execute(conn)?;
            if marked == 1 {
                insert_token_rows(conn, &new)?;
                return Ok(Rotation::Rotated);
            }
            let state: Option<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>)> =
                tokens::table
                    .find(&old)
                    .select((tokens::revoked_at, tokens::rotated_at))
                    .get_result(conn)
                    .optional()?;
            Ok(match state {
                Some((None, Some(rotated_at))) => {
                    Rotation::AlreadyRotated(Timestamp::from_naive_utc(rotated_at))
                }
                // Revoked, gone, or (not reachable after a failed update)
                // neither: refuse.
                _ => Rotation::Revoked,
            })
        })
    }

    fn revoke_family(&self, family: &FamilyId, now: Timestamp) -> Result<usize, StoreError> {
        // On PostgreSQL (READ COMMITTED) one UPDATE can miss the tokens that a
        // rotation of this family is inserting right now: it waits on the
        // rotated row, then does not see rows committed after it started.
        // Each statement takes a new snapshot, so repeating it until nothing
        // is left catches them; a rotation that starts later finds its old
        // token revoked and stores nothing. (SQLite serialises writers, so
        // the second pass finds nothing.)
        let mut revoked = 0;
        for _ in 0..REVOKE_PASSES {
            let family = family.to_string();
            let n = self.write_tx(move |conn| {
                diesel::update(
                    tokens::table
                        .filter(tokens::family_id.eq(family))
                        .filter(tokens::revoked_at.is_null()),
                )
                .set(tokens::revoked_at.eq(now.as_naive_utc()))
                .execute(conn)
            })?;
            revoked += n;
            if n == 0 {
                break;
            }
        }
        Ok(revoked)
    }

    fn revoke_token(&self, id: &TokenId, now: Timestamp) -> Result<bool, StoreError> {
        let id = id.to_string();
        let revoked = self.write_tx(move |conn| {
            diesel::update(tokens::table.find(id).filter(tokens::revoked_at.is_null()))
                .set(tokens::revoked_at.eq(now.as_naive_utc()))
                .execute(conn)
        })?;
        Ok(revoked > 0)
    }

    fn revoke_tokens_of(
        &self,
        user: Option<&UserId>,
        client: Option<&ClientId>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let user = user.map(ToString::to_string);
        let client = client.map(|client| client.as_str().to_owned());
        let now = now.as_naive_utc();
        let live = tokens::table.filter(tokens::revoked_at.is_null());
        self.write_tx(move |conn| match (user, client) {
            (None, None) => Ok(0),
            (Some(user), None) => diesel::update(live.filter(tokens::user_id.eq(user)))
                .set(tokens::revoked_at.eq(now))
                .execute(conn),
            (None, Some(client)) => diesel::update(live.filter(tokens::client_id.eq(client)))
                .set(tokens::revoked_at.eq(now))
                .execute(conn),
            (Some(user), Some(client)) => diesel::update(
                live.filter(tokens::user_id.eq(user))
                    .filter(tokens::client_id.eq(client)),
            )
            .set(tokens::revoked_at.eq(now))
            .execute(conn),
        })
    }

    fn newest_refresh_issued_at(&self, family: &FamilyId) -> Result<Option<Timestamp>, StoreError> {
        let newest: Option<chrono::NaiveDateTime> = self.with_conn(|conn| {
            tokens::table
                .filter(tokens::family_id.eq(family.to_string()))
                .filter(tokens::kind.eq(TokenKind::Refresh.as_str()))
                .select(diesel::dsl::max(tokens::issued_at))
                .get_result(conn)
        })?;
        Ok(newest.map(Timestamp::from_naive_utc))
    }

    fn grants_of(&self, user: &UserId, now: Timestamp) -> Result<Vec<GrantSummary>, StoreError> {
        let user = user.to_string();
        let now = now.as_naive_utc();
        let live: Vec<TokenRecord> = self.with_conn(|conn| {
            convert(
                tokens::table
                    .filter(tokens::user_id.eq(user))
                    .filter(tokens::revoked_at.is_null())
                    .filter(tokens::rotated_at.is_null())
                    .filter(tokens::expires_at.gt(now))
                    .select(TokenRow::as_select())
                    .load(conn)?,
            )
        })?;
        Ok(GrantSummary::summarize(live))
    }
}
