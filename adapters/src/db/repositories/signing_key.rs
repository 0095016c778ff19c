//! ID token signing keys: read all, insert one (atomic by the unique
//! `(alg, generation)`), delete the dead ones.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::error::StoreError;
use domain::id_token::JwsAlgorithm;
use domain::ports::SigningKeyRepository;
use domain::signing_key::StoredSigningKey;
use domain::time::Timestamp;

use crate::db::error::BadRow;
use crate::db::schema::signing_keys;
use crate::db::DieselStore;

/// A row of `signing_keys`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
struct SigningKeyRow {
    kid: String,
    alg: String,
    generation: i64,
    created_at: NaiveDateTime,
    signs_from: NaiveDateTime,
    sealed_private_key: String,
}

impl TryFrom<SigningKeyRow> for StoredSigningKey {
    type Error = BadRow;

    fn try_from(row: SigningKeyRow) -> Result<Self, BadRow> {
        Ok(Self {
            alg: JwsAlgorithm::parse(&row.alg).ok_or(BadRow {
                column: "signing_keys.alg",
            })?,
            kid: row.kid,
            generation: row.generation,
            created_at: Timestamp::from_naive_utc(row.created_at),
            signs_from: Timestamp::from_naive_utc(row.signs_from),
            sealed_private_key: row.sealed_private_key,
        })
    }
}

impl SigningKeyRepository for DieselStore {
    fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.with_conn(|conn| {
            let rows = signing_keys::table
                .select(SigningKeyRow::as_select())
                .order((signing_keys::alg, signing_keys::generation))
                .load(conn)?;
            super::convert(rows)
        })
    }

    fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<(), StoreError> {
        let row = SigningKeyRow {
            kid: key.kid.clone(),
            alg: key.alg.as_str().to_owned(),
            generation: key.generation,
            created_at: key.created_at.as_naive_utc(),
            signs_from: key.signs_from.as_naive_utc(),
            sealed_private_key: key.sealed_private_key.clone(),
        };
        self.write_tx(move |conn| {
            diesel::insert_into(signing_keys::table)
                .values(&row)
                .execute(conn)
        })?;
        Ok(())
    }

    fn delete_signing_keys(&self, kids: &[String]) -> Result<usize, StoreError> {
        let kids = kids.to_vec();
        self.write_tx(move |conn| {
            diesel::delete(signing_keys::table.filter(signing_keys::kid.eq_any(kids))).execute(conn)
        })
    }
}
