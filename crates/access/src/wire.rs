//! Access on the wire (`majlis.auth.v1.Access`, `Scheme`): written by
//! auth-svc, read by every cache, converted here and nowhere else.

use majlis_authz::{Membership, Permission, PermissionSet, Principal, Roles, Scheme, TeamRole};
use majlis_proto::auth::v1 as pb;
use uuid::Uuid;

use crate::Access;

fn names(set: PermissionSet) -> Vec<String> {
    set.iter().map(|p| p.as_str().to_owned()).collect()
}

/// Unknown names (a newer peer's permissions) grant nothing here.
fn set(names: &[String]) -> PermissionSet {
    names.iter().filter_map(|n| Permission::parse(n)).collect()
}

pub fn scheme_to_pb(scheme: &Scheme) -> pb::Scheme {
    pb::Scheme {
        team_user: names(scheme.team_user),
        team_admin: names(scheme.team_admin),
        channel_user: names(scheme.channel_user),
        channel_admin: names(scheme.channel_admin),
    }
}

pub fn scheme_from_pb(s: &pb::Scheme) -> Scheme {
    Scheme {
        roles: Roles {
            team_user: set(&s.team_user),
            team_admin: set(&s.team_admin),
            channel_user: set(&s.channel_user),
            channel_admin: set(&s.channel_admin),
        },
    }
}

pub fn access_to_pb(a: &Access) -> pb::Access {
    let p = &a.principal;
    pb::Access {
        user_id: p.user.to_string(),
        active: p.active,
        system_admin: p.system_admin,
        team_id: p.team.map(|m| m.team.to_string()),
        team_role: p
            .team
            .map(|m| m.role.as_str().to_owned())
            .unwrap_or_default(),
        scheme: p.team.map(|_| scheme_to_pb(&a.scheme)),
    }
}

/// `None` for an answer this version cannot read (a bad id): the caller
/// treats the user as unknown.
pub fn access_from_pb(a: &pb::Access) -> Option<Access> {
    let user: Uuid = a.user_id.parse().ok()?;
    let team = match (&a.team_id, TeamRole::parse(&a.team_role)) {
        (Some(t), Some(role)) => Some(Membership {
            team: t.parse().ok()?,
            role,
        }),
        _ => None,
    };
    Some(Access {
        principal: Principal {
            user,
            system_admin: a.system_admin,
            active: a.active,
            team,
        },
        scheme: a.scheme.as_ref().map(scheme_from_pb).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_crosses_the_wire_unchanged() {
        let mut scheme = Scheme::default();
        scheme.team_user.insert(Permission::CreatePublicChannel);
        let access = Access {
            principal: Principal {
                user: Uuid::now_v7(),
                system_admin: true,
                active: false,
                team: Some(Membership {
                    team: Uuid::now_v7(),
                    role: TeamRole::TeamUser,
                }),
            },
            scheme,
        };
        assert_eq!(access_from_pb(&access_to_pb(&access)), Some(access));
    }

    #[test]
    fn a_teamless_user_has_no_role_and_the_default_scheme() {
        let access = Access {
            principal: Principal {
                user: Uuid::now_v7(),
                system_admin: false,
                active: true,
                team: None,
            },
            scheme: Scheme::default(),
        };
        let wire = access_to_pb(&access);
        assert_eq!(wire.team_role, "");
        assert!(wire.scheme.is_none());
        assert_eq!(access_from_pb(&wire), Some(access));
    }

    #[test]
    fn unknown_permission_names_grant_nothing() {
        let s = scheme_from_pb(&pb::Scheme {
            team_user: vec!["use_channel_mentions".into(), "launch_rockets".into()],
            ..Default::default()
        });
        assert_eq!(
            s.team_user.iter().collect::<Vec<_>>(),
            [Permission::UseChannelMentions]
        );
    }
}
