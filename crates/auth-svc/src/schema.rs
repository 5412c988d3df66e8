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
        deactivated_at -> Nullable<Timestamptz>,
        tokens_valid_after -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    auth.team_schemes (team_id) {
        team_id -> Uuid,
        roles -> Jsonb,
        updated_by -> Uuid,
        updated_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, team_schemes);

diesel::table! {
    auth.revoked_tokens (jti) {
        jti -> Uuid,
        user_id -> Uuid,
        expires_at -> Timestamptz,
        revoked_at -> Timestamptz,
    }
}
