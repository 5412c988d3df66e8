//! Who a presence-socket event is for: a team's sockets and/or named users'
//! sockets. A socket matching both gets the event once.

use crate::codec::{DecodeError, Field};
use majlis_redis::streams::Entry;
use uuid::Uuid;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audience {
    /// Every socket of the team.
    pub team: Option<Uuid>,
    /// Every socket of these users, whatever their team.
    pub users: Vec<Uuid>,
}

impl Audience {
    pub fn team_and_users(team: Option<Uuid>, users: impl Into<Vec<Uuid>>) -> Self {
        Self {
            team,
            users: users.into(),
        }
    }

    pub fn users(users: impl Into<Vec<Uuid>>) -> Self {
        Self::team_and_users(None, users)
    }
}

/// Two fields, `(team, users)`, each left out when empty; the users joined
/// by commas.
impl Field for Audience {
    type Wire = (&'static str, &'static str);

    fn put(&self, (team, users): Self::Wire, out: &mut Vec<(&'static str, String)>) {
        if let Some(t) = self.team {
            out.push((team, t.to_string()));
        }
        if !self.users.is_empty() {
            let joined: Vec<String> = self.users.iter().map(Uuid::to_string).collect();
            out.push((users, joined.join(",")));
        }
    }

    fn take(
        kind: &'static str,
        (team, users): Self::Wire,
        entry: &Entry,
    ) -> Result<Self, DecodeError> {
        let parsed_team = match entry.field(team) {
            Some(_) => Some(Uuid::take(kind, team, entry)?),
            None => None,
        };
        let parsed_users = match entry.field(users) {
            Some(list) => list
                .split(',')
                .map(|u| {
                    u.parse::<Uuid>()
                        .map_err(|_| DecodeError::invalid(kind, users, list))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        if parsed_team.is_none() && parsed_users.is_empty() {
            // An event for nobody is a producer's mistake, worth a warning.
            return Err(DecodeError::MissingField { kind, field: users });
        }
        Ok(Self {
            team: parsed_team,
            users: parsed_users,
        })
    }
}
