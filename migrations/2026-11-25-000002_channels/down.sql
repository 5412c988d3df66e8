DROP TABLE channels.reactions;
DROP TABLE channels.messages;
DROP TABLE channels.members;
DROP TABLE channels.channels;
DROP SCHEMA channels;
