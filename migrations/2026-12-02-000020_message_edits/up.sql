-- Edits and deletions (contract Part 2: "Threads, edit, delete"). A deleted
-- message keeps its row and seq as a tombstone: content emptied, reactions
-- removed, `deleted_at` set; history shows it with `deleted: true`.
ALTER TABLE channels.messages
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN deleted_at timestamptz;
