//! The contract's JSON objects that more than one service returns: the user
//! (with its roles) and the channel. Each is defined once, with its OpenAPI
//! schema, so the services cannot drift apart on the wire or in their
//! documents. A service's own rows and responses stay in the service.

use chrono::{DateTime, Utc};
use majlis_proto::auth::v1 as auth_pb;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A system or team role (contract: "Roles and permissions"), on the wire as
/// its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SystemAdmin,
    SystemUser,
    TeamAdmin,
    TeamUser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SystemAdmin => "system_admin",
            Self::SystemUser => "system_user",
            Self::TeamAdmin => "team_admin",
            Self::TeamUser => "team_user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system_admin" => Some(Self::SystemAdmin),
            "system_user" => Some(Self::SystemUser),
            "team_admin" => Some(Self::TeamAdmin),
            "team_user" => Some(Self::TeamUser),
            _ => None,
        }
    }

    /// A team role: one that goes with the team when the user leaves it.
    pub fn is_team_role(self) -> bool {
        matches!(self, Self::TeamAdmin | Self::TeamUser)
    }
}

/// The contract's user object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: String,
    /// Null until onboarding.
    pub team_id: Option<Uuid>,
    pub roles: Vec<Role>,
    /// True once a system admin deactivated the account (contract Part 2;
    /// additive, so an older peer's object without it reads as active).
    #[serde(default)]
    pub deactivated: bool,
}

/// A gRPC message naming something by an id that is not a uuid: the peer
/// has a bug, so the caller answers 500.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidId {
    pub field: &'static str,
    pub value: String,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a uuid: {:?}", self.field, self.value)
    }
}

impl std::error::Error for InvalidId {}

fn uuid(field: &'static str, value: &str) -> Result<Uuid, InvalidId> {
    value.parse().map_err(|_| InvalidId {
        field,
        value: value.to_owned(),
    })
}

/// auth-svc's message. A role this version does not know (from a newer
/// auth-svc) is left out, as auth-svc itself does when it reads its rows.
impl TryFrom<auth_pb::User> for User {
    type Error = InvalidId;

    fn try_from(u: auth_pb::User) -> Result<Self, InvalidId> {
        Ok(Self {
            id: uuid("user.id", &u.id)?,
            team_id: u
                .team_id
                .as_deref()
                .map(|t| uuid("user.team_id", t))
                .transpose()?,
            roles: u.roles.iter().filter_map(|r| Role::parse(r)).collect(),
            deactivated: u.deactivated,
            username: u.username,
            email: u.email,
            display_name: u.display_name,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelType {
    Public,
    Private,
    /// Two people, made by `POST /api/channels/direct`.
    Direct,
    /// Three to eight people, made the same way.
    Group,
}

impl ChannelType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }

    /// Direct and group channels: fixed members, visible to them only.
    pub fn is_direct(kind: &str) -> bool {
        kind == Self::Direct.as_str() || kind == Self::Group.as_str()
    }
}

/// The contract's channel object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Channel {
    pub id: Uuid,
    pub team_id: Uuid,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    #[schema(value_type = ChannelType)]
    pub kind: String,
    pub creator_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// The seq of the newest message; 0 for a new channel.
    pub last_seq: i64,
    /// At most 250 characters; empty when unset. (The four fields below are
    /// the contract's additive Part 2 fields: a JSON object without them,
    /// from an older peer, reads as their defaults.)
    #[serde(default)]
    pub topic: String,
    /// At most 250 characters; empty when unset.
    #[serde(default)]
    pub purpose: String,
    /// Only callers with `post_in_read_only` may post.
    #[serde(default)]
    pub read_only: bool,
    /// Set while the channel is archived (readable, not writable).
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn pb_user(team_id: Option<&str>, roles: &[&str]) -> auth_pb::User {
        // Fields the user object does not carry keep their defaults.
        let mut u = auth_pb::User {
            id: "0192f0c4-8a4e-7d3a-9c1e-5b6a7d8e9f00".to_owned(),
            username: "amina".to_owned(),
            email: "amina@example.com".to_owned(),
            display_name: "Amina".to_owned(),
            ..Default::default()
        };
        u.team_id = team_id.map(str::to_owned);
        u.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        u
    }

    #[test]
    fn a_user_is_on_the_wire_as_the_contract_says() {
        let u = User::try_from(pb_user(None, &["system_user"])).unwrap();
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({
                "id": "0192f0c4-8a4e-7d3a-9c1e-5b6a7d8e9f00",
                "username": "amina",
                "email": "amina@example.com",
                "display_name": "Amina",
                "team_id": null,
                "roles": ["system_user"],
                "deactivated": false,
            })
        );
        let team = "0192f0c4-8a4e-7d3a-9c1e-5b6a7d8e9f01";
        let u = User::try_from(pb_user(Some(team), &["system_user", "team_admin"])).unwrap();
        let v = serde_json::to_value(&u).unwrap();
        assert_eq!(v["team_id"], team);
        assert_eq!(v["roles"], json!(["system_user", "team_admin"]));
        assert_eq!(serde_json::from_value::<User>(v.clone()).unwrap(), u);
        // An object from before the field existed is an active user's.
        let mut older = v;
        older.as_object_mut().unwrap().remove("deactivated");
        assert_eq!(serde_json::from_value::<User>(older).unwrap(), u);
        let mut off = pb_user(None, &[]);
        off.deactivated = true;
        assert!(User::try_from(off).unwrap().deactivated);
    }

    #[test]
    fn unknown_roles_are_left_out_and_a_bad_id_is_an_error() {
        let u = User::try_from(pb_user(None, &["system_user", "owner"])).unwrap();
        assert_eq!(u.roles, vec![Role::SystemUser]);
        let err = User::try_from(pb_user(Some("nope"), &[])).unwrap_err();
        assert_eq!(err.field, "user.team_id");
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in [
            Role::SystemAdmin,
            Role::SystemUser,
            Role::TeamAdmin,
            Role::TeamUser,
        ] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert!(Role::TeamAdmin.is_team_role() && !Role::SystemAdmin.is_team_role());
    }

    #[test]
    fn a_channel_names_its_kind_type() {
        let c = json!({
            "id": "0192f0c4-8a4e-7d3a-9c1e-5b6a7d8e9f02",
            "team_id": "0192f0c4-8a4e-7d3a-9c1e-5b6a7d8e9f01",
            "name": "town-square",
            "display_name": "Town Square",
            "type": "public",
            "creator_id": "0192f0c4-8a4e-7d3a-9c1e-5b6a7d8e9f00",
            "created_at": "2026-12-01T10:00:00.123456Z",
            "last_seq": 0,
        });
        let parsed: Channel = serde_json::from_value(c.clone()).unwrap();
        assert_eq!(parsed.kind, ChannelType::Public.as_str());
        // Without the Part 2 fields (an older peer's object): their defaults.
        let mut full = c.clone();
        full["topic"] = json!("");
        full["purpose"] = json!("");
        full["read_only"] = json!(false);
        full["archived_at"] = json!(null);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), full);
        full["topic"] = json!("Launch plans");
        full["read_only"] = json!(true);
        full["archived_at"] = json!("2026-12-02T10:00:00Z");
        let archived: Channel = serde_json::from_value(full.clone()).unwrap();
        assert!(archived.read_only && archived.archived_at.is_some());
        assert_eq!(archived.topic, "Launch plans");
    }
}
