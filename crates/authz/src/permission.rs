//! The contract's fourteen permissions, their scopes, and a set of them (a
//! bitset: cheap to copy, compare and cache).

use serde::{Deserialize, Serialize};

/// Where a permission applies. Channel-scoped ones are judged per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Team,
    Channel,
}

/// A permission (contract: "Permissions (snake_case names)").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    CreatePublicChannel,
    CreatePrivateChannel,
    ManageChannelProperties,
    ManageChannelMembers,
    ArchiveChannel,
    InviteUser,
    ManageTeamRoles,
    RemoveTeamMember,
    EditOthersPosts,
    DeleteOthersPosts,
    PostInReadOnly,
    UseChannelMentions,
    ManageIntegrations,
    ViewAuditLog,
}

impl Permission {
    /// Every permission, in the contract's order (also the order lists are
    /// written in).
    pub const ALL: [Self; 14] = [
        Self::CreatePublicChannel,
        Self::CreatePrivateChannel,
        Self::ManageChannelProperties,
        Self::ManageChannelMembers,
        Self::ArchiveChannel,
        Self::InviteUser,
        Self::ManageTeamRoles,
        Self::RemoveTeamMember,
        Self::EditOthersPosts,
        Self::DeleteOthersPosts,
        Self::PostInReadOnly,
        Self::UseChannelMentions,
        Self::ManageIntegrations,
        Self::ViewAuditLog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatePublicChannel => "create_public_channel",
            Self::CreatePrivateChannel => "create_private_channel",
            Self::ManageChannelProperties => "manage_channel_properties",
            Self::ManageChannelMembers => "manage_channel_members",
            Self::ArchiveChannel => "archive_channel",
            Self::InviteUser => "invite_user",
            Self::ManageTeamRoles => "manage_team_roles",
            Self::RemoveTeamMember => "remove_team_member",
            Self::EditOthersPosts => "edit_others_posts",
            Self::DeleteOthersPosts => "delete_others_posts",
            Self::PostInReadOnly => "post_in_read_only",
            Self::UseChannelMentions => "use_channel_mentions",
            Self::ManageIntegrations => "manage_integrations",
            Self::ViewAuditLog => "view_audit_log",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Contract: "Channel-scoped: `manage_channel_properties`,
    /// `manage_channel_members`, `post_in_read_only`; the others are
    /// team-scoped."
    pub fn scope(self) -> Scope {
        match self {
            Self::ManageChannelProperties | Self::ManageChannelMembers | Self::PostInReadOnly => {
                Scope::Channel
            }
            Self::CreatePublicChannel
            | Self::CreatePrivateChannel
            | Self::ArchiveChannel
            | Self::InviteUser
            | Self::ManageTeamRoles
            | Self::RemoveTeamMember
            | Self::EditOthersPosts
            | Self::DeleteOthersPosts
            | Self::UseChannelMentions
            | Self::ManageIntegrations
            | Self::ViewAuditLog => Scope::Team,
        }
    }

    fn bit(self) -> u16 {
        // The discriminants are 0..14 in declaration order.
        1 << (self as u16)
    }
}

/// A set of permissions. Serialized as the list of their names, in the
/// contract's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u16);

impl PermissionSet {
    pub const fn empty() -> Self {
        Self(0)
    }

    pub fn all() -> Self {
        Self::from_iter(Permission::ALL)
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn insert(&mut self, p: Permission) {
        self.0 |= p.bit();
    }

    pub fn remove(&mut self, p: Permission) {
        self.0 &= !p.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    #[must_use]
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Only the permissions of `scope`.
    #[must_use]
    pub fn of_scope(self, scope: Scope) -> Self {
        self.iter().filter(|p| p.scope() == scope).collect()
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = Self::empty();
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl Serialize for PermissionSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for PermissionSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<Permission>::deserialize(d)?.into_iter().collect())
    }
}

impl utoipa::PartialSchema for PermissionSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <Vec<Permission> as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for PermissionSet {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert!(Permission::parse("be_root").is_none());
        assert!(serde_json::from_str::<PermissionSet>(r#"["be_root"]"#).is_err());
    }

    #[test]
    fn a_set_serializes_in_the_contracts_order_without_repeats() {
        let set: PermissionSet =
            serde_json::from_str(r#"["view_audit_log","create_public_channel","view_audit_log"]"#)
                .unwrap_or_default();
        assert_eq!(
            serde_json::to_string(&set).unwrap_or_default(),
            r#"["create_public_channel","view_audit_log"]"#
        );
    }

    #[test]
    fn exactly_three_permissions_are_channel_scoped() {
        let channel: Vec<_> = PermissionSet::all()
            .of_scope(Scope::Channel)
            .iter()
            .collect();
        assert_eq!(
            channel,
            [
                Permission::ManageChannelProperties,
                Permission::ManageChannelMembers,
                Permission::PostInReadOnly
            ]
        );
    }
}
