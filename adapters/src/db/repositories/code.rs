use diesel::prelude::*;
use domain::code::AuthorizationCode;
use domain::error::StoreError;
use domain::ids::{ClientId, UserId};
use domain::ports::{CodeRedemption, CodeRepository, WithinQuota};
use domain::secret::SecretDigest;
use domain::time::Timestamp;
use domain::token::NewTokens;

use super::token::insert_token_rows;
use super::{convert_one, lock_user_row};
use crate::db::rows::{CodeRow, NewCodeRow};
use crate::db::schema::oauth2_authorization_codes as codes;
use crate::db::DieselStore;

impl CodeRepository for DieselStore {
    fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        let row = NewCodeRow::from(code);
        self.write_tx(move |conn| diesel::insert_into(codes::table).values(&row).execute(conn))?;
        Ok(())
    }

    fn insert_code_within_quota(
        &self,
        code: &AuthorizationCode,
        max: u32,
    ) -> Result<WithinQuota, StoreError> {
        let row = NewCodeRow::from(code);
        let now = code.issued_at.as_naive_utc();
        self.write_tx(move |conn| {
            lock_user_row(conn, &row.user_id)?;
            // Served by the partial index of unused codes by grant
            // (`oauth2_authorization_codes_pending_idx`): at most `max`
            // rows of this grant are looked at, however busy the server.
            let pending: i64 = codes::table
                .filter(codes::expires_at.gt(now))
                .filter(codes::user_id.eq(&row.user_id))
                .filter(codes::client_id.eq(&row.client_id))
                .filter(codes::used_at.is_null())
                .count()
                .get_result(conn)?;
            if pending >= i64::from(max) {
                return Ok(WithinQuota::QuotaReached);
            }
            diesel::insert_into(codes::table)
                .values(&row)
                .execute(conn)?;
            Ok(WithinQuota::Inserted)
        })
    }

    fn find_code(&self, digest: &SecretDigest) -> Result<Option<AuthorizationCode>, StoreError> {
        self.with_conn(|conn| {
            let row = codes::table
                .find(digest.as_hex())
                .select(CodeRow::as_select())
                .get_result(conn)
                .optional()?;
            convert_one(row)
        })
    }

    fn redeem_code(
        &self,
        digest: &SecretDigest,
        now: Timestamp,
        tokens: &NewTokens,
    ) -> Result<CodeRedemption, StoreError> {
        let (digest, tokens) = (digest.as_hex().to_owned(), tokens.clone());
        self.write_tx(move |conn| {
            // The conditional update is the single-use check: of concurrent
            // redeemers only one sees the row still unused.
            let marked = diesel::update(codes::table.find(digest).filter(codes::used_at.is_null()))
                .set(codes::used_at.eq(now.as_naive_utc()))
                .execute(conn)?;
            if marked != 1 {
                return Ok(CodeRedemption::AlreadyUsed);
            }
            insert_token_rows(conn, &tokens)?;
            Ok(CodeRedemption::Redeemed)
        })
    }

    fn delete_unused_codes(&self, user: &UserId, client: &ClientId) -> Result<usize, StoreError> {
        let (user, client) = (user.to_string(), client.as_str().to_owned());
        self.write_tx(move |conn| {
            diesel::delete(
                codes::table
                    .filter(codes::user_id.eq(user))
                    .filter(codes::client_id.eq(client))
                    .filter(codes::used_at.is_null()),
            )
            .execute(conn)
        })
    }

    fn delete_unused_codes_of_user(&self, user: &UserId) -> Result<usize, StoreError> {
        let user = user.to_string();
        self.write_tx(move |conn| {
            diesel::delete(
                codes::table
                    .filter(codes::user_id.eq(user))
                    .filter(codes::used_at.is_null()),
            )
            .execute(conn)
        })
    }
}
