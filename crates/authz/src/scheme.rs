//! A team's permission scheme: what each team and channel role may do, the
//! contract's default, and the one rule a scheme must keep (a channel role
//! holds channel-scoped permissions only).

use crate::permission::{Permission, PermissionSet, Scope};
use crate::{ChannelRole, TeamRole};
use serde::{Deserialize, Serialize};

/// What each role may do in one team. On the wire (contract:
/// `GET /api/teams/{id}/scheme`): `{"roles": {"team_user": [..],
/// "team_admin": [..], "channel_user": [..], "channel_admin": [..]}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scheme {
    pub roles: Roles,
}

/// The permissions of each role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    pub team_user: PermissionSet,
    pub team_admin: PermissionSet,
    #[schema(schema_with = channel_permissions_schema)]
    pub channel_user: PermissionSet,
    #[schema(schema_with = channel_permissions_schema)]
    pub channel_admin: PermissionSet,
}

/// What a channel role may hold, as the OpenAPI document states it: the
/// channel-scoped permissions only (what [`Scheme::validate`] enforces).
fn channel_permissions_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let names: Vec<&str> = PermissionSet::all()
        .of_scope(Scope::Channel)
        .iter()
        .map(Permission::as_str)
        .collect();
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names)),
        )
        .description(Some("channel-scoped permissions only"))
        .build()
}

/// Why a scheme was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct SchemeError {
    /// The role's field, as a 422 names it (`roles.channel_user`).
    pub field: &'static str,
    pub message: String,
}

impl Default for Scheme {
    /// Contract: "`team_user` → `use_channel_mentions`; `channel_user` →
    /// nothing extra; `channel_admin` → the three channel-scoped ones;
    /// `team_admin` → every permission above".
    fn default() -> Self {
        Self {
            roles: Roles {
                team_user: [Permission::UseChannelMentions].into_iter().collect(),
                team_admin: PermissionSet::all(),
                channel_user: PermissionSet::empty(),
                channel_admin: PermissionSet::all().of_scope(Scope::Channel),
            },
        }
    }
}

impl std::ops::Deref for Scheme {
    type Target = Roles;
    fn deref(&self) -> &Roles {
        &self.roles
    }
}

impl std::ops::DerefMut for Scheme {
    fn deref_mut(&mut self) -> &mut Roles {
        &mut self.roles
    }
}

impl Scheme {
    pub fn for_team_role(&self, role: TeamRole) -> PermissionSet {
        match role {
            TeamRole::TeamAdmin => self.roles.team_admin,
            TeamRole::TeamUser => self.roles.team_user,
        }
    }

    pub fn for_channel_role(&self, role: ChannelRole) -> PermissionSet {
        match role {
            ChannelRole::ChannelAdmin => self.roles.channel_admin,
            ChannelRole::ChannelUser => self.roles.channel_user,
        }
    }

    /// A channel role cannot hold a team-scoped permission: it would grant
    /// a team-wide right to whoever administers one channel.
    pub fn validate(&self) -> Result<(), SchemeError> {
        for (field, set) in [
            ("roles.channel_user", self.roles.channel_user),
            ("roles.channel_admin", self.roles.channel_admin),
        ] {
            if let Some(p) = set.iter().find(|p| p.scope() == Scope::Team) {
                return Err(SchemeError {
                    field,
                    message: format!(
                        "{} is team-scoped; a channel role holds only manage_channel_properties, manage_channel_members and post_in_read_only",
                        p.as_str()
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_schema_offers_channel_roles_the_channel_scoped_permissions_only() {
        let schema = serde_json::to_value(channel_permissions_schema()).unwrap_or_default();
        assert_eq!(
            schema["items"]["enum"],
            serde_json::json!([
                "manage_channel_properties",
                "manage_channel_members",
                "post_in_read_only"
            ])
        );
    }

    use super::*;

    #[test]
    fn the_default_scheme_reads_as_the_contract_writes_it() {
        let json = serde_json::to_value(Scheme::default()).unwrap_or_default();
        assert_eq!(
            json["roles"]["team_user"],
            serde_json::json!(["use_channel_mentions"])
        );
        assert_eq!(json["roles"]["channel_user"], serde_json::json!([]));
        assert_eq!(
            json["roles"]["channel_admin"],
            serde_json::json!([
                "manage_channel_properties",
                "manage_channel_members",
                "post_in_read_only"
            ])
        );
        assert_eq!(
            json["roles"]["team_admin"].as_array().map(Vec::len),
            Some(14)
        );
    }

    #[test]
    fn a_scheme_round_trips_and_a_missing_role_is_refused() {
        let s: Result<Scheme, _> =
            serde_json::from_value(serde_json::to_value(Scheme::default()).unwrap_or_default());
        assert_eq!(s.ok(), Some(Scheme::default()));
        let missing =
            serde_json::json!({"roles": {"team_user": [], "team_admin": [], "channel_user": []}});
        assert!(serde_json::from_value::<Scheme>(missing).is_err());
    }

    #[test]
    fn a_channel_role_with_a_team_scoped_permission_is_refused_naming_the_role() {
        let mut s = Scheme::default();
        s.channel_admin.insert(Permission::ManageTeamRoles);
        assert_eq!(
            s.validate().map_err(|e| e.field),
            Err("roles.channel_admin")
        );
        assert!(Scheme::default().validate().is_ok());
    }
}
