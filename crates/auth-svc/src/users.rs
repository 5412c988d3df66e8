//! The users repository: every query auth-svc runs against `auth.users`, and
//! the public user object built from a row.

use crate::schema::users;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use majlis_auth_token::{Claims, Role, TokenError, TokenIssuer, cutoff_secs};
use majlis_db::{Db, DbError};
pub use majlis_objects::User;
use uuid::Uuid;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub team_id: Option<Uuid>,
    pub roles: Vec<String>,
    #[allow(dead_code)]
    pub created_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// The user's revocation cutoff: its tokens issued before it are refused.
    pub tokens_valid_after: Option<DateTime<Utc>>,
}

impl UserRow {
    /// Roles as the typed enum; unknown strings (from a newer version) are skipped.
    pub fn roles(&self) -> Vec<Role> {
        self.roles.iter().filter_map(|r| Role::parse(r)).collect()
    }

    pub fn deactivated(&self) -> bool {
        self.deactivated_at.is_some()
    }

    /// A new token for this user, issued no earlier than its revocation
    /// cutoff.
    pub fn issue(&self, issuer: &TokenIssuer) -> Result<(String, Claims), TokenError> {
        issuer.issue_after_cutoff(self.id, self.tokens_valid_after.map(cutoff_secs))
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub roles: Vec<String>,
}

/// The contract's user object of a row.
impl From<&UserRow> for User {
    fn from(r: &UserRow) -> Self {
        Self {
            id: r.id,
            username: r.username.clone(),
            email: r.email.clone(),
            display_name: r.display_name.clone(),
            team_id: r.team_id,
            roles: r.roles(),
            deactivated: r.deactivated(),
        }
    }
}

pub async fn insert(db: &Db, new: NewUser<'_>) -> Result<UserRow, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(diesel::insert_into(users::table)
            .values(&new)
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .await?)
    })
    .await
}

/// By username, or by email when `login` contains `@`. Both are stored lowercase.
pub async fn find_by_login(db: &Db, login: &str) -> Result<Option<UserRow>, DbError> {
    let login = login.to_lowercase();
    db.timed(async {
        let mut conn = db.conn().await?;
        let query = users::table.select(UserRow::as_select()).into_boxed();
        let query = if login.contains('@') {
            query.filter(users::email.eq(&login))
        } else {
            query.filter(users::username.eq(&login))
        };
        Ok(query.first(&mut conn).await.optional()?)
    })
    .await
}

pub async fn find_by_id(db: &Db, id: Uuid) -> Result<Option<UserRow>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(users::table
            .find(id)
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    })
    .await
}

pub async fn find_many(
    db: &Db,
    ids: &[Uuid],
    usernames: &[String],
) -> Result<Vec<UserRow>, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        Ok(users::table
            .filter(users::id.eq_any(ids).or(users::username.eq_any(usernames)))
            .select(UserRow::as_select())
            .order(users::username.asc())
            .load(&mut conn)
            .await?)
    })
    .await
}

/// The outcome of a compare-and-set team change.
pub enum SetTeam {
    Updated(UserRow),
    NoSuchUser,
    /// The user's team was not the expected one; nothing changed.
    TeamChanged,
}

/// Sets team and roles. With `expected` = `Some(t)`, only when the current team
/// is `t` (`Some(None)` = "has no team"), so concurrent onboarding flows cannot
/// overwrite each other.
pub async fn set_team(
    db: &Db,
    id: Uuid,
    team_id: Option<Uuid>,
    roles: Vec<String>,
    expected: Option<Option<Uuid>>,
) -> Result<SetTeam, DbError> {
    db.timed(async {
        let mut conn = db.conn().await?;
        let target = users::table.filter(users::id.eq(id)).into_boxed();
        let target = match expected {
            None => target,
            Some(None) => target.filter(users::team_id.is_null()),
            Some(Some(t)) => target.filter(users::team_id.eq(t)),
        };
        // A boxed select cannot be an update target; select the id set instead.
        let updated: Option<UserRow> = diesel::update(users::table)
            .filter(users::id.eq_any(target.select(users::id)))
            .set((
                users::team_id.eq(team_id),
                users::roles.eq(roles),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .await
            .optional()?;
        if let Some(row) = updated {
            return Ok(SetTeam::Updated(row));
        }
        let exists: i64 = users::table
            .filter(users::id.eq(id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(if exists > 0 {
            SetTeam::TeamChanged
        } else {
            SetTeam::NoSuchUser
        })
    })
    .await
}
