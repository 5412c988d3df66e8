//! Diesel's view of the tables onboarding-svc owns.

diesel::table! {
    onboarding.teams (id) {
        id -> Uuid,
        name -> Text,
        display_name -> Text,
        creator_id -> Uuid,
        state -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    onboarding.invites (token) {
        token -> Text,
        team_id -> Uuid,
        created_by -> Uuid,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        id -> Uuid,
        max_uses -> Nullable<Int4>,
        uses -> Int4,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    onboarding.team_creations (id) {
        id -> Uuid,
        user_id -> Uuid,
        idempotency_key -> Nullable<Text>,
        team_id -> Nullable<Uuid>,
        status -> Text,
        response -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    onboarding.installation (singleton) {
        singleton -> Bool,
        first_team_id -> Uuid,
    }
}

diesel::allow_tables_to_appear_in_same_query!(teams, invites, team_creations, installation);
