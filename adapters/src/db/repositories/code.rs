use diesel::prelude::*;
use domain::code::AuthorizationCode;
use domain::error::StoreError;
use domain::ids::{ClientId, UserId};
use domain::ports::{CodeRedemption, CodeRepository};
use domain::secret::SecretDigest;
use domain::time::Timestamp;
use domain::token::NewTokens;

use super::convert_one;
use super::token::insert_token_rows;
use crate::db::rows::{CodeRow, NewCodeRow};
use crate::db::schema::oauth2_authorization_codes as codes;
use crate::db::DieselStore;

impl CodeRepository for DieselStore {
    fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        let row = NewCodeRow::from(code);
        self.write_tx(move |conn| diesel::insert_into(codes::table).values(&row).execute(conn))?;
        Ok(())
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
