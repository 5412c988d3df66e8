//! auth-svc's audit entries (`auth.audit`): appended by each change of
//! roles, memberships, schemes and accounts in the change's own
//! transaction (`majlis-audit` stores them and serves them to onboarding-svc,
//! which merges every owner's entries into the team's log).

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use majlis_audit::{Log, NewEntry};
use uuid::Uuid;

/// The contract's action names auth-svc records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    TeamRoleChanged,
    TeamMemberRemoved,
    SchemeUpdated,
    UserDeactivated,
    UserActivated,
    SystemRoleChanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TeamRoleChanged => "team_role_changed",
            Self::TeamMemberRemoved => "team_member_removed",
            Self::SchemeUpdated => "scheme_updated",
            Self::UserDeactivated => "user_deactivated",
            Self::UserActivated => "user_activated",
            Self::SystemRoleChanged => "system_role_changed",
        }
    }

    /// What the entry's target is.
    fn target_type(self) -> &'static str {
        match self {
            Self::SchemeUpdated => "team",
            Self::TeamRoleChanged
            | Self::TeamMemberRemoved
            | Self::UserDeactivated
            | Self::UserActivated
            | Self::SystemRoleChanged => "user",
        }
    }
}

/// Appends one entry on `conn`, inside the transaction of the change it
/// records, so the log holds exactly the changes that committed.
pub async fn append(
    conn: &mut AsyncPgConnection,
    team: Option<Uuid>,
    actor: Uuid,
    action: Action,
    target: Uuid,
    details: serde_json::Value,
) -> QueryResult<()> {
    let entry = NewEntry {
        team,
        actor,
        action: action.as_str(),
        target_type: action.target_type(),
        target_id: target.to_string(),
        details,
    };
    majlis_audit::append(conn, Log::Auth, &entry).await
}
