//! What majlisctl prints: the API's JSON as is (`--json`), or aligned
//! tables of the fields an admin reads.

use serde_json::Value;
use std::io::Write;

/// A table: a header and rows of the same width.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: Vec<&'static str>) -> Self {
        Self {
            header,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Columns padded to their widest cell, two spaces apart; no trailing
    /// spaces.
    pub fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if i + 1 < row.len() {
                    line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// A string field, or empty.
pub fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The user objects' table: what an admin checks about an account.
pub fn users(users: &[Value]) -> Table {
    let mut t = Table::new(vec![
        "ID",
        "USERNAME",
        "DISPLAY NAME",
        "EMAIL",
        "TEAM",
        "ROLES",
        "ACTIVE",
    ]);
    for u in users {
        let roles: Vec<&str> = u["roles"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let active = if u["deactivated"].as_bool().unwrap_or(false) {
            "no"
        } else {
            "yes"
        };
        t.row(vec![
            text(u, "id"),
            text(u, "username"),
            text(u, "display_name"),
            text(u, "email"),
            text(u, "team_id"),
            roles.join(","),
            active.to_owned(),
        ]);
    }
    t
}

/// The team objects' table.
pub fn teams(teams: &[Value]) -> Table {
    let mut t = Table::new(vec!["ID", "NAME", "DISPLAY NAME", "CREATED"]);
    for team in teams {
        t.row(vec![
            text(team, "id"),
            text(team, "name"),
            text(team, "display_name"),
            text(team, "created_at"),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_aligns_its_columns_without_trailing_spaces() {
        let mut t = Table::new(vec!["ID", "NAME"]);
        t.row(vec!["1".to_owned(), "alice".to_owned()]);
        t.row(vec!["1234".to_owned(), String::new()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&out),
            "ID    NAME\n1     alice\n1234\n"
        );
    }

    #[test]
    fn the_user_table_shows_roles_and_whether_the_account_is_active() {
        let t = users(&[
            json!({"id": "u1", "username": "bo", "display_name": "Bo", "email": "b@x",
            "team_id": null, "roles": ["system_admin", "system_user"], "deactivated": true}),
        ]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap_or_default();
        let text = String::from_utf8_lossy(&out);
        let row = text.lines().nth(1).unwrap_or_default();
        assert!(row.contains("system_admin,system_user"), "{text}");
        assert!(row.ends_with("no"), "{text}");
    }
}
