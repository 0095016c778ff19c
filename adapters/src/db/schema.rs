// @generated automatically by Diesel CLI.
// Written to match `diesel print-schema` on the SQLite migrations; keep it in
// sync with migrations/sqlite and migrations/postgres.

diesel::table! {
    oauth2_authorization_codes (digest) {
        digest -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Nullable<Text>,
        scope -> Text,
        code_challenge -> Text,
        family_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        nonce -> Nullable<Text>,
        auth_time -> Nullable<Timestamp>,
        sid -> Nullable<Text>,
        amr -> Nullable<Text>,
    }
}

diesel::table! {
    oauth2_clients (client_id) {
        client_id -> Text,
        owner_id -> Text,
        secret_digest -> Nullable<Text>,
        client_name -> Text,
        client_uri -> Nullable<Text>,
        redirect_uris -> Text,
        grant_types -> Text,
        response_types -> Text,
        scope -> Text,
        token_endpoint_auth_method -> Text,
        issued_at -> Timestamp,
        trusted -> Bool,
        post_logout_redirect_uris -> Text,
        id_token_signed_response_alg -> Text,
        default_max_age -> Nullable<BigInt>,
        require_auth_time -> Bool,
    }
}

diesel::table! {
    oauth2_tokens (id) {
        id -> Text,
        digest -> Text,
        family_id -> Text,
        kind -> Text,
        client_id -> Text,
        user_id -> Nullable<Text>,
        scope -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        rotated_at -> Nullable<Timestamp>,
        auth_time -> Nullable<Timestamp>,
        sid -> Nullable<Text>,
        amr -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        username_folded -> Nullable<Text>,
        email -> Nullable<Text>,
        email_folded -> Nullable<Text>,
        email_verified -> Bool,
        name -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(oauth2_authorization_codes -> oauth2_clients (client_id));
diesel::joinable!(oauth2_authorization_codes -> users (user_id));
diesel::joinable!(oauth2_clients -> users (owner_id));
diesel::joinable!(oauth2_tokens -> oauth2_clients (client_id));
diesel::joinable!(oauth2_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    oauth2_authorization_codes,
    oauth2_clients,
    oauth2_tokens,
    users,
);

diesel::table! {
    sessions (id) {
        id -> Text,
        state -> Text,
        expires_at -> Timestamp,
        user_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    // No primary key in the table; Diesel needs one, and (key, at) is how
    // rows are read and deleted.
    failed_attempts (key, at) {
        key -> Text,
        at -> Timestamp,
        reservation -> Nullable<Text>,
    }
}
