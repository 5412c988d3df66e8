//! Who may do what. The contract's permissions and the roles of its three
//! scopes (system, team, channel), a team's permission scheme, and the one
//! evaluation every service runs — from the roles and memberships as they
//! are now in the database, never from a token's claims.
//!
//! This crate is pure: it decides from a [`Principal`] (the user's system
//! role, whether it is active, its team and team role), the team's
//! [`Scheme`] and, for a channel, the user's [`ChannelRole`] there. Fetching
//! those (and caching them until an event says they changed) is the
//! caller's part, so every service decides the same way.

mod permission;
mod scheme;

pub use permission::{Permission, PermissionSet, Scope};
pub use scheme::{Roles, Scheme, SchemeError};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A team role (contract: "team (`team_admin`, `team_user`)").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    TeamAdmin,
    TeamUser,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TeamAdmin => "team_admin",
            Self::TeamUser => "team_user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "team_admin" => Some(Self::TeamAdmin),
            "team_user" => Some(Self::TeamUser),
            _ => None,
        }
    }
}

/// A channel role (contract: "channel (`channel_admin`, `channel_user`)").
/// A channel's creator is its `channel_admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelRole {
    ChannelAdmin,
    ChannelUser,
}

impl ChannelRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChannelAdmin => "channel_admin",
            Self::ChannelUser => "channel_user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "channel_admin" => Some(Self::ChannelAdmin),
            "channel_user" => Some(Self::ChannelUser),
            _ => None,
        }
    }
}

/// A user's team and its role there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Membership {
    pub team: Uuid,
    pub role: TeamRole,
}

/// A user as authorization sees it, read from the database now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: Uuid,
    pub system_admin: bool,
    /// False once deactivated: it may do nothing at all.
    pub active: bool,
    pub team: Option<Membership>,
}

impl Principal {
    /// Its role in `team`, if it is a member of it.
    pub fn role_in(&self, team: Uuid) -> Option<TeamRole> {
        self.team.filter(|m| m.team == team).map(|m| m.role)
    }
}

/// What a user may do in a team, and in one of its channels: the two lists
/// of `GET /api/users/me/permissions`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// Team-scoped permissions.
    pub team: PermissionSet,
    /// Channel-scoped permissions in the channel asked about (empty when no
    /// channel was named).
    pub channel: PermissionSet,
}

impl Grants {
    /// Whether `permission` is granted, in its own scope.
    pub fn allows(&self, permission: Permission) -> bool {
        match permission.scope() {
            Scope::Team => self.team.contains(permission),
            Scope::Channel => self.channel.contains(permission),
        }
    }
}

/// The one evaluation (contract: "Roles and permissions"):
/// - a deactivated user may do nothing;
/// - `system_admin` may do everything in every team;
/// - anyone else only in its own team: its team role's permissions from the
///   scheme, and in a channel also its channel role's (channel-scoped
///   permissions a team role holds apply in every channel of the team).
///
/// `channel` is `Some(role)` for a member of the channel asked about, and
/// `None` otherwise or when no channel was named; `in_channel` says whether a
/// channel was named at all (a team role's channel-scoped permissions apply
/// to any channel of the team, member or not).
pub fn evaluate(
    principal: &Principal,
    scheme: &Scheme,
    team: Uuid,
    in_channel: bool,
    channel: Option<ChannelRole>,
) -> Grants {
    if !principal.active {
        return Grants::default();
    }
    let from_roles = if principal.system_admin {
        PermissionSet::all()
    } else {
        let Some(team_role) = principal.role_in(team) else {
            return Grants::default();
        };
        let mut set = scheme.for_team_role(team_role);
        if let Some(role) = channel {
            set = set.union(scheme.for_channel_role(role));
        }
        set
    };
    Grants {
        team: from_roles.of_scope(Scope::Team),
        channel: if in_channel {
            from_roles.of_scope(Scope::Channel)
        } else {
            PermissionSet::empty()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: TeamRole, team: Uuid) -> Principal {
        Principal {
            user: Uuid::new_v4(),
            system_admin: false,
            active: true,
            team: Some(Membership { team, role }),
        }
    }

    #[test]
    fn the_default_scheme_gives_team_users_channel_mentions_only() {
        let team = Uuid::new_v4();
        let g = evaluate(
            &member(TeamRole::TeamUser, team),
            &Scheme::default(),
            team,
            true,
            Some(ChannelRole::ChannelUser),
        );
        assert_eq!(
            g.team.iter().collect::<Vec<_>>(),
            [Permission::UseChannelMentions]
        );
        assert!(g.channel.is_empty());
    }

    #[test]
    fn a_channel_admin_gets_the_three_channel_scoped_permissions_there_only() {
        let team = Uuid::new_v4();
        let p = member(TeamRole::TeamUser, team);
        let admin = evaluate(
            &p,
            &Scheme::default(),
            team,
            true,
            Some(ChannelRole::ChannelAdmin),
        );
        assert_eq!(
            admin.channel.iter().collect::<Vec<_>>(),
            [
                Permission::ManageChannelProperties,
                Permission::ManageChannelMembers,
                Permission::PostInReadOnly
            ]
        );
        assert!(!admin.allows(Permission::ArchiveChannel));
        let elsewhere = evaluate(&p, &Scheme::default(), team, true, None);
        assert!(elsewhere.channel.is_empty());
    }

    #[test]
    fn a_team_admin_may_do_everything_in_every_channel_of_its_team_and_nothing_elsewhere() {
        let team = Uuid::new_v4();
        let p = member(TeamRole::TeamAdmin, team);
        let g = evaluate(&p, &Scheme::default(), team, true, None);
        for perm in Permission::ALL {
            assert!(g.allows(perm), "{perm:?}");
        }
        assert_eq!(
            evaluate(&p, &Scheme::default(), Uuid::new_v4(), true, None),
            Grants::default()
        );
    }

    #[test]
    fn a_system_admin_may_do_everything_in_every_team_and_a_deactivated_one_nothing() {
        let mut p = member(TeamRole::TeamUser, Uuid::new_v4());
        p.system_admin = true;
        let g = evaluate(&p, &Scheme::default(), Uuid::new_v4(), true, None);
        assert!(Permission::ALL.iter().all(|perm| g.allows(*perm)));
        p.active = false;
        assert_eq!(
            evaluate(&p, &Scheme::default(), Uuid::new_v4(), true, None),
            Grants::default()
        );
    }

    #[test]
    fn without_a_channel_the_channel_list_is_empty() {
        let team = Uuid::new_v4();
        let g = evaluate(
            &member(TeamRole::TeamAdmin, team),
            &Scheme::default(),
            team,
            false,
            None,
        );
        assert!(g.channel.is_empty());
        assert!(g.allows(Permission::ViewAuditLog));
    }

    #[test]
    fn a_scheme_that_lends_a_channel_permission_to_team_users_applies_in_every_channel() {
        let team = Uuid::new_v4();
        let mut scheme = Scheme::default();
        scheme.team_user.insert(Permission::PostInReadOnly);
        let g = evaluate(&member(TeamRole::TeamUser, team), &scheme, team, true, None);
        assert!(g.allows(Permission::PostInReadOnly));
        assert!(!g.team.contains(Permission::PostInReadOnly));
    }
}
