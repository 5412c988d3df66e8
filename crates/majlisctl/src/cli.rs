//! The command line: every command, its arguments and its help text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// majlis's admin CLI: users, system admins, teams, roles and sessions,
/// over the public API with an admin's token.
///
/// USER is a user id or a username; TEAM is a team id or a team name.
/// Exit codes: 0 done, 1 other failure, 2 usage, 3 unauthorized or
/// forbidden, 4 not found, 5 conflict, 6 invalid input, 7 unavailable
/// (server down, rate limited, or unreachable).
#[derive(Debug, Parser)]
#[command(name = "majlisctl", version)]
pub struct Cli {
    /// The installation's URL (the edge), e.g. http://localhost:8080.
    /// Default: the URL of the last `auth login`, else http://localhost:8080.
    #[arg(long, env = "MAJLIS_URL", global = true)]
    pub url: Option<String>,
    /// A bearer token to use instead of the saved one.
    #[arg(long, env = "MAJLIS_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Where `auth login` saves the URL and token. Default:
    /// $XDG_CONFIG_HOME/majlisctl/credentials.json (~/.config/…).
    #[arg(long, env = "MAJLISCTL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON (the API's objects) instead of tables; errors are
    /// printed to stderr as the API's error body.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in, log out, and who the saved token is.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Create, show, deactivate and activate users; revoke their sessions.
    #[command(subcommand)]
    User(UserCommand),
    /// Make a user a system admin, or take it back.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// List teams, their members; change a member's role; remove one.
    #[command(subcommand)]
    Team(TeamCommand),
}

/// Where a password comes from; never from the command line, where other
/// users of the machine could read it.
#[derive(Debug, Args)]
pub struct PasswordSource {
    /// Read the password from the first line of stdin (else from
    /// $MAJLIS_PASSWORD, else a prompt on the terminal).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Log in and save the token (mode 0600) for the next commands.
    Login {
        /// Username or email.
        login: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Revoke the saved token and forget it.
    Logout,
    /// The user the token belongs to.
    Whoami,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (as registering does; it starts without a team).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Show a user.
    Show { user: String },
    /// Deactivate: its tokens are refused, its sockets close, it cannot log in.
    Deactivate { user: String },
    /// Activate a deactivated user: it may log in again.
    Activate { user: String },
    /// Revoke every session (token) of the user and close its sockets.
    LogoutAll { user: String },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make USER a system admin.
    Grant { user: String },
    /// Make USER a system user again (refused for the last active system admin).
    Revoke { user: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TeamRoleArg {
    TeamAdmin,
    TeamUser,
}

impl TeamRoleArg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TeamAdmin => "team_admin",
            Self::TeamUser => "team_user",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// The installation's teams (all of them for a system admin).
    List,
    /// A team's members with their team role.
    Members { team: String },
    /// Change a member's team role (refused for the team's last team_admin).
    Role {
        team: String,
        user: String,
        #[arg(value_enum)]
        role: TeamRoleArg,
    },
    /// Remove a member from the team (it goes back to onboarding).
    Remove { team: String, user: String },
}
