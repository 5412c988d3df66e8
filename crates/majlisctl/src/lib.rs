//! majlisctl: the admin CLI over the public API (see `majlisctl --help`).
//! [`run`] is the whole program, so tests drive it exactly as the binary
//! does, with their own output buffers.

mod api;
mod cli;
mod credentials;
mod output;

use api::{Api, Failure, Outcome, segment};
use clap::Parser;
pub use cli::Cli;
use cli::{AdminCommand, AuthCommand, Command, PasswordSource, TeamCommand, UserCommand};
use credentials::Credentials;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::PathBuf;

const DEFAULT_URL: &str = "http://localhost:8080";

/// Where the program reads and writes.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub stdin: &'a mut dyn BufRead,
}

/// Runs the command line `args` (program name first); the exit code.
pub async fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>, io: Io<'_>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            // --help and --version go to stdout and are not failures.
            let _ = if e.use_stderr() {
                write!(io.err, "{}", e.render())
            } else {
                write!(io.out, "{}", e.render())
            };
            return code;
        }
    };
    let json = cli.json;
    match execute(cli, io.out, io.stdin).await {
        Ok(()) => 0,
        Err(failure) => {
            let _ = match (&failure, json) {
                (Failure::Api { body, .. }, true) if !body.is_null() => writeln!(io.err, "{body}"),
                _ => writeln!(io.err, "majlisctl: {failure}"),
            };
            failure.exit_code()
        }
    }
}

/// The command with its connection settings resolved.
struct Ctx<'a> {
    api: Api,
    json: bool,
    config: Option<PathBuf>,
    out: &'a mut dyn Write,
}

impl Ctx<'_> {
    fn print_json(&mut self, v: &Value) -> Outcome<()> {
        writeln!(self.out, "{v:#}").map_err(local)
    }

    /// `v` as JSON, or the table `table` makes of it.
    fn show(&mut self, v: &Value, table: impl FnOnce(&Value) -> output::Table) -> Outcome<()> {
        if self.json {
            return self.print_json(v);
        }
        table(v).write(self.out).map_err(local)
    }

    /// The outcome of a command the API answers with 204.
    fn done(&mut self, what: Value, line: String) -> Outcome<()> {
        if self.json {
            return self.print_json(&what);
        }
        writeln!(self.out, "{line}").map_err(local)
    }

    fn config_path(&self) -> Outcome<PathBuf> {
        self.config
            .clone()
            .or_else(credentials::default_path)
            .ok_or_else(|| Failure::Local("no HOME or XDG_CONFIG_HOME: pass --config".to_owned()))
    }
}

fn local(e: std::io::Error) -> Failure {
    Failure::Local(e.to_string())
}

async fn execute(cli: Cli, out: &mut dyn Write, stdin: &mut dyn BufRead) -> Outcome<()> {
    let config = cli.config.clone().or_else(credentials::default_path);
    let saved = match &config {
        Some(path) => credentials::load(path)?,
        None => None,
    };
    let url = cli
        .url
        .clone()
        .or_else(|| saved.as_ref().map(|c| c.url.clone()))
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    // A token saved for another installation is not sent to this one.
    let token = cli.token.clone().or_else(|| {
        saved
            .filter(|c| c.url.trim_end_matches('/') == url.trim_end_matches('/'))
            .map(|c| c.token)
    });
    let mut ctx = Ctx {
        api: Api::new(&url, token),
        json: cli.json,
        config,
        out,
    };
    match cli.command {
        Command::Auth(cmd) => auth(&mut ctx, cmd, stdin).await,
        Command::User(cmd) => user(&mut ctx, cmd, stdin).await,
        Command::Admin(cmd) => admin(&mut ctx, cmd).await,
        Command::Team(cmd) => team(&mut ctx, cmd).await,
    }
}

/// The password, from stdin's first line, `$MAJLIS_PASSWORD`, or a prompt.
fn password(source: &PasswordSource, stdin: &mut dyn BufRead) -> Outcome<String> {
    if source.password_stdin {
        let mut line = String::new();
        stdin.read_line(&mut line).map_err(local)?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            return Err(Failure::Local(
                "--password-stdin: stdin held no password".to_owned(),
            ));
        }
        return Ok(line);
    }
    if let Some(p) = std::env::var_os("MAJLIS_PASSWORD") {
        return p
            .into_string()
            .map_err(|_| Failure::Local("MAJLIS_PASSWORD is not UTF-8".to_owned()));
    }
    rpassword::prompt_password("password: ")
        .map_err(|e| Failure::Local(format!("no password: {e} (use --password-stdin)")))
}

async fn auth(ctx: &mut Ctx<'_>, cmd: AuthCommand, stdin: &mut dyn BufRead) -> Outcome<()> {
    match cmd {
        AuthCommand::Login {
            login,
            password: source,
        } => {
            let password = password(&source, stdin)?;
            let res = ctx
                .api
                .post(
                    "/api/auth/login",
                    Some(json!({"login": login, "password": password})),
                )
                .await?;
            let token = res["token"]
                .as_str()
                .ok_or_else(|| Failure::Local("the login answer has no token".to_owned()))?;
            let path = ctx.config_path()?;
            credentials::save(
                &path,
                &Credentials {
                    url: ctx.api.base().to_owned(),
                    token: token.to_owned(),
                },
            )?;
            let user = &res["user"];
            ctx.done(
                json!({"user": user, "credentials": path}),
                format!(
                    "logged in to {} as {}; token saved to {}",
                    ctx.api.base(),
                    output::text(user, "username"),
                    path.display()
                ),
            )
        }
        AuthCommand::Logout => {
            ctx.api.post("/api/auth/logout", None).await?;
            credentials::remove(&ctx.config_path()?)?;
            ctx.done(json!({"logged_out": true}), "logged out".to_owned())
        }
        AuthCommand::Whoami => {
            let me = ctx.api.get("/api/users/me").await?;
            ctx.show(&me, |u| output::users(std::slice::from_ref(u)))
        }
    }
}

/// A user by id or username, as the caller may see it (404 otherwise).
async fn find_user(api: &Api, user: &str) -> Outcome<Value> {
    match user.parse::<uuid::Uuid>() {
        Ok(id) => api.get(&format!("/api/users/{id}")).await,
        Err(_) => {
            api.get(&format!("/api/users/username/{}", segment(user)))
                .await
        }
    }
}

/// The id of a user given by id or username.
async fn user_id(api: &Api, user: &str) -> Outcome<String> {
    if let Ok(id) = user.parse::<uuid::Uuid>() {
        return Ok(id.to_string());
    }
    Ok(output::text(&find_user(api, user).await?, "id"))
}

async fn user(ctx: &mut Ctx<'_>, cmd: UserCommand, stdin: &mut dyn BufRead) -> Outcome<()> {
    match cmd {
        UserCommand::Create {
            username,
            email,
            display_name,
            password: source,
        } => {
            let password = password(&source, stdin)?;
            let mut body = json!({"username": username, "email": email, "password": password});
            if let Some(d) = display_name {
                body["display_name"] = json!(d);
            }
            let res = ctx.api.post("/api/auth/register", Some(body)).await?;
            ctx.show(&res["user"], |u| output::users(std::slice::from_ref(u)))
        }
        UserCommand::Show { user } => {
            let found = find_user(&ctx.api, &user).await?;
            ctx.show(&found, |u| output::users(std::slice::from_ref(u)))
        }
        UserCommand::Deactivate { user } => account(ctx, &user, "deactivate", "deactivated").await,
        UserCommand::Activate { user } => account(ctx, &user, "activate", "activated").await,
        UserCommand::LogoutAll { user } => {
            account(ctx, &user, "logout_all", "logged out everywhere").await
        }
    }
}

/// `POST /api/users/{id}/<action>`, answered 204.
async fn account(ctx: &mut Ctx<'_>, user: &str, action: &str, done: &str) -> Outcome<()> {
    let id = user_id(&ctx.api, user).await?;
    ctx.api
        .post(&format!("/api/users/{id}/{action}"), None)
        .await?;
    ctx.done(
        json!({"user_id": id, "action": action}),
        format!("user {user} {done}"),
    )
}

async fn admin(ctx: &mut Ctx<'_>, cmd: AdminCommand) -> Outcome<()> {
    let (user, grant) = match cmd {
        AdminCommand::Grant { user } => (user, true),
        AdminCommand::Revoke { user } => (user, false),
    };
    let id = user_id(&ctx.api, &user).await?;
    let updated = ctx
        .api
        .put(
            &format!("/api/users/{id}/system_admin"),
            json!({"system_admin": grant}),
        )
        .await?;
    ctx.show(&updated, |u| output::users(std::slice::from_ref(u)))
}

/// Every team the caller may see, page by page.
async fn all_teams(api: &Api) -> Outcome<Vec<Value>> {
    let mut teams = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/teams?limit=200&after={}", segment(a)),
            None => "/api/teams?limit=200".to_owned(),
        };
        let page = api.get(&path).await?;
        let batch = page["teams"].as_array().cloned().unwrap_or_default();
        let last = batch.last().map(|t| output::text(t, "name"));
        teams.extend(batch);
        match last {
            Some(name) if page["has_more"].as_bool() == Some(true) => after = Some(name),
            _ => return Ok(teams),
        }
    }
}

/// The id of a team given by id or name.
async fn team_id(api: &Api, team: &str) -> Outcome<String> {
    if let Ok(id) = team.parse::<uuid::Uuid>() {
        return Ok(id.to_string());
    }
    all_teams(api)
        .await?
        .iter()
        .find(|t| t["name"].as_str() == Some(team))
        .map(|t| output::text(t, "id"))
        .ok_or_else(|| Failure::Api {
            status: 404,
            code: "team_not_found".to_owned(),
            message: format!("no team named {team:?} that you may see"),
            body: Value::Null,
        })
}

async fn team(ctx: &mut Ctx<'_>, cmd: TeamCommand) -> Outcome<()> {
    match cmd {
        TeamCommand::List => {
            let teams = Value::Array(all_teams(&ctx.api).await?);
            ctx.show(&teams, |t| {
                output::teams(t.as_array().map_or(&[], Vec::as_slice))
            })
        }
        TeamCommand::Members { team } => {
            let id = team_id(&ctx.api, &team).await?;
            let members = ctx.api.get(&format!("/api/teams/{id}/members")).await?;
            ctx.show(&members, |m| {
                output::users(m.as_array().map_or(&[], Vec::as_slice))
            })
        }
        TeamCommand::Role { team, user, role } => {
            let (team_id, user_id) = (
                team_id(&ctx.api, &team).await?,
                user_id(&ctx.api, &user).await?,
            );
            let updated = ctx
                .api
                .patch(
                    &format!("/api/teams/{team_id}/members/{user_id}"),
                    json!({"role": role.as_str()}),
                )
                .await?;
            ctx.show(&updated, |u| output::users(std::slice::from_ref(u)))
        }
        TeamCommand::Remove { team, user } => {
            let (team_id, user_id) = (
                team_id(&ctx.api, &team).await?,
                user_id(&ctx.api, &user).await?,
            );
            ctx.api
                .delete(&format!("/api/teams/{team_id}/members/{user_id}"))
                .await?;
            ctx.done(
                json!({"team_id": team_id, "user_id": user_id, "action": "removed"}),
                format!("user {user} removed from team {team}"),
            )
        }
    }
}
