//! Diesel's view of the tables channels-svc owns.

diesel::table! {
    channels.channels (id) {
        id -> Uuid,
        team_id -> Uuid,
        name -> Text,
        display_name -> Text,
        #[sql_name = "type"]
        kind -> Text,
        creator_id -> Uuid,
        created_at -> Timestamptz,
        last_seq -> Int8,
        topic -> Text,
        purpose -> Text,
        read_only -> Bool,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    channels.members (channel_id, user_id) {
        channel_id -> Uuid,
        user_id -> Uuid,
        joined_at -> Timestamptz,
        role -> Text,
        last_read_seq -> Int8,
    }
}

diesel::table! {
    channels.messages (id) {
        id -> Uuid,
        channel_id -> Uuid,
        seq -> Int8,
        user_id -> Uuid,
        content -> Text,
        client_id -> Nullable<Text>,
        created_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        root_id -> Nullable<Uuid>,
        reply_count -> Int4,
        last_reply_at -> Nullable<Timestamptz>,
        mentions -> Array<Uuid>,
    }
}

diesel::table! {
    channels.reactions (message_id, emoji, user_id) {
        message_id -> Uuid,
        user_id -> Uuid,
        emoji -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(members -> channels (channel_id));
diesel::joinable!(messages -> channels (channel_id));
diesel::allow_tables_to_appear_in_same_query!(channels, members, messages, reactions);
