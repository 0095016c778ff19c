use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::error::StoreError;
use domain::ids::UserId;
use domain::ports::UserRepository;
use domain::time::Timestamp;
use domain::user::{DisplayName, EmailAddress, PasswordHash, User};

use super::{convert, convert_one};
use crate::db::rows::{NewUserRow, UserRow};
use crate::db::schema::users;
use crate::db::DieselStore;

diesel::define_sql_function! {
    /// SQL `lower()`: ASCII lower-casing on SQLite, and on PostgreSQL for
    /// the ASCII-only names users have.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

impl UserRepository for DieselStore {
    fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let row = NewUserRow::from(user);
        self.write_tx(move |conn| {
            // The unique index on username_folded refuses a taken key, also
            // under concurrent sign-ups; this also refuses the fold of a
            // case-duplicate from before the migration, whose key is NULL.
            let folded = row.username_folded.clone().unwrap_or_default();
            let taken: i64 = users::table
                .filter(lower(users::username).eq(&folded))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(DieselError::DatabaseError(
                    DatabaseErrorKind::UniqueViolation,
                    Box::new("users.username_folded".to_owned()),
                ));
            }
            diesel::insert_into(users::table).values(&row).execute(conn)
        })?;
        Ok(())
    }

    fn find_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.with_conn(|conn| {
            let row = users::table
                .find(id.to_string())
                .select(UserRow::as_select())
                .get_result(conn)
                .optional()?;
            convert_one(row)
        })
    }

    fn find_user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let folded = domain::user::fold_username(username);
        self.with_conn(|conn| {
            // Exact name first (a pre-migration case-duplicate is found only
            // so), then the folded key (RFC 8265 §3.3).
            let exact = users::table
                .filter(users::username.eq(username))
                .select(UserRow::as_select())
                .get_result(conn)
                .optional()?;
            let row = match exact {
                Some(row) => Some(row),
                None => users::table
                    .filter(users::username_folded.eq(folded))
                    .select(UserRow::as_select())
                    .get_result(conn)
                    .optional()?,
            };
            convert_one(row)
        })
    }

    fn find_user_by_email(&self, folded: &str) -> Result<Option<User>, StoreError> {
        let folded = folded.to_owned();
        self.with_conn(|conn| {
            let row = users::table
                .filter(users::email_folded.eq(folded))
                .select(UserRow::as_select())
                .get_result(conn)
                .optional()?;
            convert_one(row)
        })
    }

    fn set_email(
        &self,
        id: &UserId,
        email: Option<&EmailAddress>,
        verified: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let folded = email.map(EmailAddress::folded);
        let email = email.map(|e| e.as_str().to_owned());
        // The unique index on email_folded refuses another user's address
        // (a UniqueViolation, mapped to Conflict).
        let updated = self.write_tx(move |conn| {
            diesel::update(users::table.find(id))
                .set((
                    users::email.eq(email),
                    users::email_folded.eq(folded),
                    users::email_verified.eq(verified),
                    users::updated_at.eq(at.as_naive_utc()),
                ))
                .execute(conn)
        })?;
        Ok(updated > 0)
    }

    fn set_name(
        &self,
        id: &UserId,
        name: Option<&DisplayName>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (id, name) = (id.to_string(), name.map(|n| n.as_str().to_owned()));
        let updated = self.write_tx(move |conn| {
            diesel::update(users::table.find(id))
                .set((
                    users::name.eq(name),
                    users::updated_at.eq(at.as_naive_utc()),
                ))
                .execute(conn)
        })?;
        Ok(updated > 0)
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut users: Vec<User> =
            self.with_conn(|conn| convert(users::table.select(UserRow::as_select()).load(conn)?))?;
        // Byte order, the same on both databases whatever PostgreSQL's collation.
        users.sort_by(|a, b| a.username.as_str().cmp(b.username.as_str()));
        Ok(users)
    }

    fn set_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (id, hash) = (id.to_string(), hash.as_str().to_owned());
        let updated = self.write_tx(move |conn| {
            diesel::update(users::table.find(id))
                .set((
                    users::password_hash.eq(hash),
                    users::updated_at.eq(at.as_naive_utc()),
                ))
                .execute(conn)
        })?;
        Ok(updated > 0)
    }

    fn delete_user(&self, id: &UserId) -> Result<bool, StoreError> {
        // ON DELETE CASCADE removes the user's clients and every code and
        // token of the user or of those clients, in this transaction.
        let id = id.to_string();
        let deleted =
            self.write_tx(move |conn| diesel::delete(users::table.find(id)).execute(conn))?;
        Ok(deleted > 0)
    }
}
