//! majlisctl against the stack through the edge, as an operator uses it:
//! the recovery command makes the first admin, then every command of the
//! admin CLI, its tables and JSON, and its exit codes.

use super::{call, member, team};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const PASSWORD: &str = "admin-cli-password-1";

/// A binary the workspace built next to this test (target/<profile>/).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().join(name)
}

/// A new user's username.
async fn register_named(prefix: &str) -> String {
    let username = majlis_testkit::unique(prefix);
    let (status, body) = call(
        awc::http::Method::POST,
        "/api/auth/register",
        None,
        Some(json!({"username": username, "email": format!("{username}@example.org"), "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    username
}

/// majlisctl with `args`, its credentials in `config`: (exit code, stdout,
/// stderr).
async fn ctl(config: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut input = stdin.as_bytes();
    let edge = super::edge();
    let config = config.display().to_string();
    let argv = ["majlisctl", "--url", &edge, "--config", &config]
        .into_iter()
        .chain(args.iter().copied())
        .map(str::to_owned);
    let code = majlisctl::run(
        argv,
        majlisctl::Io {
            out: &mut out,
            err: &mut err,
            stdin: &mut input,
        },
    )
    .await;
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn roles(user: &Value) -> Vec<String> {
    user["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
#[ignore = "needs a running stack: tests/edge/run.sh"]
async fn an_operator_recovers_an_admin_and_administers_users_and_teams_with_majlisctl() {
    let dir = std::env::temp_dir().join(majlis_testkit::unique("majlisctl"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("credentials.json");

    // Recovery: the operator makes a user system admin from the database.
    let root = register_named("root").await;
    let db = std::env::var("MAJLIS_EDGE_DATABASE_URL").expect("tests/edge/run.sh sets it");
    let grant = std::process::Command::new(binary("auth-svc"))
        .args(["grant-system-admin", &root])
        .env("MAJLIS_DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(
        grant.status.success(),
        "{}",
        String::from_utf8_lossy(&grant.stderr)
    );

    let (code, out, err) = ctl(
        &config,
        &["auth", "login", &root, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&root), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads the token");
    }
    let (code, out, _) = ctl(&config, &["--json", "auth", "whoami"], "").await;
    assert_eq!(code, 0);
    assert!(
        roles(&json_of(&out)).contains(&"system_admin".to_owned()),
        "{out}"
    );

    // Users: create, show, make and unmake system admin.
    let name = majlis_testkit::unique("made");
    let email = format!("{name}@example.org");
    let (code, out, err) = ctl(
        &config,
        &[
            "user",
            "create",
            "--username",
            &name,
            "--email",
            &email,
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let header = out.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("USERNAME"),
        "{out}"
    );
    assert!(out.contains(&name), "{out}");
    let (code, out, _) = ctl(&config, &["--json", "admin", "grant", &name], "").await;
    assert_eq!(code, 0);
    assert!(roles(&json_of(&out)).contains(&"system_admin".to_owned()));
    let (code, out, _) = ctl(&config, &["--json", "admin", "revoke", &name], "").await;
    assert_eq!(code, 0);
    assert!(!roles(&json_of(&out)).contains(&"system_admin".to_owned()));

    // Teams: list, members, role, remove.
    let (founder, team_id) = team().await;
    let joined = member(&founder, &team_id).await;
    let (code, out, _) = ctl(&config, &["--json", "team", "list"], "").await;
    assert_eq!(code, 0);
    let listed = json_of(&out);
    let team_name = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == team_id.as_str())
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .expect("a system admin lists every team");
    let (code, out, _) = ctl(&config, &["team", "members", &team_name], "").await;
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "a header and two members: {out}");
    assert!(
        out.contains(&founder.id) && out.contains(&joined.id),
        "{out}"
    );
    let (code, out, err) = ctl(
        &config,
        &[
            "--json",
            "team",
            "role",
            &team_name,
            &joined.id,
            "team-admin",
        ],
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(roles(&json_of(&out)).contains(&"team_admin".to_owned()));

    // Sessions: logout-all refuses the member's tokens at once.
    let (code, _, err) = ctl(&config, &["user", "logout-all", &joined.id], "").await;
    assert_eq!(code, 0, "{err}");
    let (status, _) = call(
        awc::http::Method::GET,
        "/api/users/me",
        Some(&joined.token),
        None,
    )
    .await;
    assert_eq!(status, 401);

    // Deactivate and activate.
    let (code, out, _) = ctl(&config, &["user", "deactivate", &name], "").await;
    assert_eq!(
        (code, out.trim()),
        (0, format!("user {name} deactivated").as_str())
    );
    let login = json!({"login": name, "password": PASSWORD});
    let (status, body) = call(
        awc::http::Method::POST,
        "/api/auth/login",
        None,
        Some(login.clone()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("account_deactivated"))
    );
    let (code, _, _) = ctl(&config, &["user", "activate", &name], "").await;
    assert_eq!(code, 0);
    let (status, _) = call(
        awc::http::Method::POST,
        "/api/auth/login",
        None,
        Some(login),
    )
    .await;
    assert_eq!(status, 200);

    let (code, _, err) = ctl(&config, &["team", "remove", &team_name, &joined.id], "").await;
    assert_eq!(code, 0, "{err}");
    let (_, members) = call(
        awc::http::Method::GET,
        &format!("/api/teams/{team_id}/members"),
        Some(&founder.token),
        None,
    )
    .await;
    assert_eq!(members.as_array().unwrap().len(), 1, "{members}");

    // Failures: the error's code, and an exit code by its kind.
    let (code, _, err) = ctl(&config, &["user", "show", "nobody-by-this-name"], "").await;
    assert_eq!(code, 4);
    assert!(err.contains("user_not_found"), "{err}");
    let (code, _, err) = ctl(
        &config,
        &[
            "--json",
            "team",
            "role",
            &team_name,
            &founder.id,
            "team-user",
        ],
        "",
    )
    .await;
    assert_eq!(code, 5, "the team's last admin: {err}");
    assert_eq!(json_of(&err)["error"]["code"], "last_admin");
    let (code, _, _) = ctl(
        &config,
        &["team", "role", &team_name, &founder.id, "owner"],
        "",
    )
    .await;
    assert_eq!(code, 2, "usage");

    let (code, _, _) = ctl(&config, &["auth", "logout"], "").await;
    assert_eq!(code, 0);
    assert!(!config.exists());
    // The binary itself: an invalid token is exit 3 with the error's code.
    let bad = std::process::Command::new(binary("majlisctl"))
        .args([
            "--url",
            &super::edge(),
            "--token",
            "not-a-token",
            "--config",
        ])
        .arg(&config)
        .args(["team", "list"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid_token"));
    std::fs::remove_dir_all(&dir).unwrap();
}
