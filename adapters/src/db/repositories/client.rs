use diesel::prelude::*;
use domain::client::Client;
use domain::error::StoreError;
use domain::ids::{ClientId, UserId};
use domain::ports::{ClientRepository, WithinQuota};
use domain::secret::SecretDigest;

use super::{convert, convert_one, lock_user_row};
use crate::db::rows::{ClientRow, NewClientRow};
use crate::db::schema::oauth2_clients as clients;
use crate::db::DieselStore;

impl ClientRepository for DieselStore {
    fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let row = NewClientRow::from(client);
        self.write_tx(move |conn| {
            diesel::insert_into(clients::table)
                .values(&row)
                .execute(conn)
        })?;
        Ok(())
    }

    fn insert_client_within_quota(
        &self,
        client: &Client,
        max: u32,
    ) -> Result<WithinQuota, StoreError> {
        let row = NewClientRow::from(client);
        self.write_tx(move |conn| {
            lock_user_row(conn, &row.owner_id)?;
            let owned: i64 = clients::table
                .filter(clients::owner_id.eq(&row.owner_id))
                .count()
                .get_result(conn)?;
            if owned >= i64::from(max) {
                return Ok(WithinQuota::QuotaReached);
            }
            diesel::insert_into(clients::table)
                .values(&row)
                .execute(conn)?;
            Ok(WithinQuota::Inserted)
        })
    }

    fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.with_conn(|conn| {
            let row = clients::table
                .find(id.as_str())
                .select(ClientRow::as_select())
                .get_result(conn)
                .optional()?;
            convert_one(row)
        })
    }

    fn list_clients_of(&self, owner: &UserId) -> Result<Vec<Client>, StoreError> {
        self.with_conn(|conn| {
            convert(
                clients::table
                    .filter(clients::owner_id.eq(owner.to_string()))
                    .order((clients::issued_at.asc(), clients::client_id.asc()))
                    .select(ClientRow::as_select())
                    .load(conn)?,
            )
        })
    }

    fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.with_conn(|conn| {
            convert(
                clients::table
                    .order((clients::issued_at.asc(), clients::client_id.asc()))
                    .select(ClientRow::as_select())
                    .load(conn)?,
            )
        })
    }

    fn set_client_secret(&self, id: &ClientId, digest: &SecretDigest) -> Result<bool, StoreError> {
        let (id, digest) = (id.as_str().to_owned(), digest.as_hex().to_owned());
        let updated = self.write_tx(move |conn| {
            diesel::update(clients::table.find(id))
                .set(clients::secret_digest.eq(digest))
                .execute(conn)
        })?;
        Ok(updated > 0)
    }

    fn set_client_trusted(&self, id: &ClientId, trusted: bool) -> Result<bool, StoreError> {
        let id = id.as_str().to_owned();
        let updated = self.write_tx(move |conn| {
            diesel::update(clients::table.find(id))
                .set(clients::trusted.eq(trusted))
                .execute(conn)
        })?;
        Ok(updated > 0)
    }

    fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        // ON DELETE CASCADE removes the client's codes and tokens in this
        // transaction.
        let id = id.as_str().to_owned();
        let deleted =
            self.write_tx(move |conn| diesel::delete(clients::table.find(id)).execute(conn))?;
        Ok(deleted > 0)
    }
}
