use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::error::StoreError;
use domain::ids::{ClientId, UserId};
use domain::ports::{Consent, ConsentRepository};
use domain::scope::Scope;
use domain::time::Timestamp;

use super::{convert, convert_one};
use crate::db::error::BadRow;
use crate::db::schema::oauth2_consents as consents;
use crate::db::DieselStore;

/// A row of `oauth2_consents` (read and insert).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
struct ConsentRow {
    user_id: String,
    client_id: String,
    scope: String,
    granted_at: NaiveDateTime,
}

impl From<&Consent> for ConsentRow {
    fn from(consent: &Consent) -> Self {
        Self {
            user_id: consent.user_id.to_string(),
            client_id: consent.client_id.as_str().to_owned(),
            scope: consent.scope.to_string(),
            granted_at: consent.granted_at.as_naive_utc(),
        }
    }
}

impl TryFrom<ConsentRow> for Consent {
    type Error = BadRow;

    fn try_from(row: ConsentRow) -> Result<Self, BadRow> {
        Ok(Self {
            user_id: UserId::parse(&row.user_id).ok_or(BadRow {
                column: "oauth2_consents.user_id",
            })?,
            client_id: ClientId::parse(&row.client_id).ok_or(BadRow {
                column: "oauth2_consents.client_id",
            })?,
            scope: Scope::parse(&row.scope).map_err(|_| BadRow {
                column: "oauth2_consents.scope",
            })?,
            granted_at: Timestamp::from_naive_utc(row.granted_at),
        })
    }
}

impl ConsentRepository for DieselStore {
    fn find_consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        let (user, client) = (user.to_string(), client.as_str().to_owned());
        self.with_conn(|conn| {
            let row = consents::table
                .find((user, client))
                .select(ConsentRow::as_select())
                .get_result(conn)
                .optional()?;
            convert_one(row)
        })
    }

    fn save_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        let row = ConsentRow::from(consent);
        // Delete then insert in one transaction: the same on both backends
        // (no backend-specific upsert through the multi-connection).
        self.write_tx(move |conn| {
            diesel::delete(consents::table.find((&row.user_id, &row.client_id))).execute(conn)?;
            diesel::insert_into(consents::table)
                .values(&row)
                .execute(conn)
        })?;
        Ok(())
    }

    fn consents_of(&self, user: &UserId) -> Result<Vec<Consent>, StoreError> {
        let user = user.to_string();
        self.with_conn(|conn| {
            let rows = consents::table
                .filter(consents::user_id.eq(user))
                .order(consents::client_id.asc())
                .select(ConsentRow::as_select())
                .load(conn)?;
            convert(rows)
        })
    }

    fn delete_consent(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError> {
        let (user, client) = (user.to_string(), client.as_str().to_owned());
        let deleted = self.write_tx(move |conn| {
            diesel::delete(consents::table.find((user, client))).execute(conn)
        })?;
        Ok(deleted > 0)
    }
}
