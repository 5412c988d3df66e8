//! The states of a team and of its creation saga, as their text columns
//! store them (the migration's CHECK constraints name the same values).

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use std::fmt;
use std::str::FromStr;

/// A state column held a value this version does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownState(pub String);

impl fmt::Display for UnknownState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown state {:?}", self.0)
    }
}

impl std::error::Error for UnknownState {}

/// One enum per column, with its text, both directions, and diesel's
/// mapping: written once so the two columns cannot map differently.
macro_rules! text_states {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, AsExpression, FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            #[cfg(test)]
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownState(s.to_owned())),
                }
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                Ok(<String as FromSql<Text, Pg>>::from_sql(bytes)?.parse()?)
            }
        }
    };
}

text_states! {
    /// Where a team creation is (`onboarding.team_creations.status`).
    pub enum CreationStatus {
        /// Running, or interrupted (the recovery loop decides once stale).
        Started = "started",
        /// Being undone; the recovery loop retries what failed.
        Compensating = "compensating",
        /// Done; `response` holds the 201 body.
        Completed = "completed",
        /// Rolled back: nothing of it is left, and its key may be reused.
        Failed = "failed",
    }
}

text_states! {
    /// `onboarding.teams.state`: only active teams are visible.
    pub enum TeamState {
        /// Its creation saga is running.
        Creating = "creating",
        Active = "active",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MIGRATION: &str = include_str!("../../../migrations/2026-11-25-000003_onboarding/up.sql");

    #[test]
    fn every_state_round_trips_through_its_text_and_the_migration_allows_it() {
        let texts = CreationStatus::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str(),
                    s.as_str().parse::<CreationStatus>().map(|p| p == *s),
                )
            })
            .chain(
                TeamState::ALL
                    .iter()
                    .map(|s| (s.as_str(), s.as_str().parse::<TeamState>().map(|p| p == *s))),
            );
        for (text, back) in texts {
            assert_eq!(back, Ok(true), "{text}");
            assert!(
                MIGRATION.contains(&format!("'{text}'")),
                "{text} not in the migration"
            );
        }
        assert_eq!(CreationStatus::ALL.len(), 4);
        assert_eq!(TeamState::ALL.len(), 2);
    }

    #[test]
    fn an_unknown_state_is_an_error() {
        assert_eq!(
            "done".parse::<CreationStatus>(),
            Err(UnknownState("done".to_owned()))
        );
        assert!("Active".parse::<TeamState>().is_err());
    }
}
