//! Diesel's view of the tables auth-svc owns.

diesel::table! {
    auth.users (id) {
        id -> Uuid,
        username -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        team_id -> Nullable<Uuid>,
        roles -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    auth.revoked_tokens (jti) {
        jti -> Uuid,
        user_id -> Uuid,
        expires_at -> Timestamptz,
        revoked_at -> Timestamptz,
    }
}
