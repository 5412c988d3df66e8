//! Who may do what here, decided from current state: the caller's access as
//! auth-svc has it now (its team, team role, system role and activity, and
//! its team's scheme, cached by `majlis-access` until `access.events` says
//! it changed) combined with its channel role from `channels.members`.
//! Never from a token's claims: a demotion, a removal or a deactivation
//! holds from the next request on.

use crate::model::ChannelRow;
use crate::repo;
use crate::service::Chat;
use majlis_access::{Access, AccessCache};
use majlis_authz::{ChannelRole, Grants, Permission, Principal, Scheme};
use majlis_db::Db;
use majlis_errors::ApiError;
use uuid::Uuid;

/// The user's access; a user auth-svc does not know (deleted since its
/// token was issued) may do nothing, as a deactivated one.
pub async fn of(cache: &AccessCache, user: Uuid) -> Result<Access, ApiError> {
    Ok(cache.get(user).await?.unwrap_or_else(|| nobody(user)))
}

/// What an unknown user has: no team, no role, not active.
pub fn nobody(user: Uuid) -> Access {
    Access {
        principal: Principal {
            user,
            system_admin: false,
            active: false,
            team: None,
        },
        scheme: Scheme::default(),
    }
}

pub fn channel_not_found() -> ApiError {
    ApiError::not_found("channel_not_found", "no such channel")
}

pub fn archived() -> ApiError {
    ApiError::conflict(
        "channel_archived",
        "the channel is archived: readable, not writable",
    )
}

/// A channel as one caller sees it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub row: ChannelRow,
    /// The caller's channel role (`None`: not a member).
    pub role: Option<ChannelRole>,
    pub access: Access,
}

impl Seen {
    pub fn is_member(&self) -> bool {
        self.role.is_some()
    }

    /// What the caller may do in this channel (and in its team).
    pub fn grants(&self) -> Grants {
        self.access.in_channel(self.row.team_id, self.role)
    }

    /// `Ok` when the caller holds `permission` here, else 403 `forbidden`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.grants().allows(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                format!("this needs the {} permission", permission.as_str()),
            ))
        }
    }

    /// Direct and group channels keep the members, roles and properties
    /// they were made with: 409 `direct_channel`.
    pub fn not_direct(&self) -> Result<(), ApiError> {
        if crate::model::ChannelType::is_direct(&self.row.kind) {
            Err(ApiError::conflict(
                "direct_channel",
                "direct and group channels keep the members they were made with",
            ))
        } else {
            Ok(())
        }
    }

    /// The channel must accept changes (it is not archived).
    pub fn writable(&self) -> Result<(), ApiError> {
        if self.row.archived_at.is_some() {
            Err(archived())
        } else {
            Ok(())
        }
    }
}

/// Whether a post by a user with these grants may go into `row`: an
/// archived channel takes none (409 `channel_archived`), a read-only one
/// only from holders of `post_in_read_only` (403 `read_only`). `grants` is
/// asked only for a read-only channel, so an ordinary post costs no access
/// lookup.
pub fn may_post(row: &ChannelRow, grants: impl FnOnce() -> Grants) -> Result<(), ApiError> {
    if row.archived_at.is_some() {
        return Err(archived());
    }
    if row.read_only && !grants().allows(Permission::PostInReadOnly) {
        return Err(ApiError::forbidden(
            "read_only",
            "the channel is read-only: only members allowed to post in read-only channels may post",
        ));
    }
    Ok(())
}

/// What `user` may do in `row` now: its access and its channel role, looked
/// up (for the rare send that needs them, e.g. one with `@channel`).
pub async fn grants_in(chat: &Chat, row: &ChannelRow, user: Uuid) -> Result<Grants, ApiError> {
    let (access, roles) = tokio::try_join!(of(&chat.access, user), async {
        Ok::<_, ApiError>(repo::roles_of(&chat.db, &[(row.id, user)]).await?)
    })?;
    Ok(access.in_channel(row.team_id, roles.get(&(row.id, user)).copied()))
}

/// The channel if the caller may see it: a public channel of its current
/// team, or a private one it belongs to. Anything else is 404, never 403,
/// so private channels do not leak their existence.
pub async fn visible(db: &Db, cache: &AccessCache, id: Uuid, user: Uuid) -> Result<Seen, ApiError> {
    // The two lookups are independent: made together.
    let (found, access) = tokio::try_join!(
        async { Ok::<_, ApiError>(repo::channel_with_membership(db, id, user).await?) },
        of(cache, user),
    )?;
    let (row, role) = found.ok_or_else(channel_not_found)?;
    if access.team() != Some(row.team_id) || (!row.is_public() && role.is_none()) {
        return Err(channel_not_found());
    }
    Ok(Seen { row, role, access })
}

/// As [`visible`], and the caller must be a member.
pub async fn member_of(
    db: &Db,
    cache: &AccessCache,
    id: Uuid,
    user: Uuid,
) -> Result<Seen, ApiError> {
    let seen = visible(db, cache, id, user).await?;
    if !seen.is_member() {
        return Err(ApiError::forbidden(
            "not_a_member",
            "join the channel to read or post messages",
        ));
    }
    Ok(seen)
}
