//! The PostgreSQL the database scenarios issue users on, reached through `psql` to count and drop the
//! bench's own users (both servers' default username template is
//! `v-<display name>-<role name>-<random>-<unix time>`, so the role name finds them).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

#[derive(Debug, Clone)]
pub struct Pg {
    pub host: String,
    pub port: u16,
    pub db: String,
    pub user: String,
}

impl Pg {
    /// The URL both servers connect with; they substitute `{{username}}`/`{{password}}`.
    pub fn connection_url(&self) -> String {
        format!(
            "postgresql://{{{{username}}}}:{{{{password}}}}@{}:{}/{}",
            self.host, self.port, self.db
        )
    }

    /// `LIKE` pattern of the users made for database role `role` (letters and digits only).
    fn pattern(role: &str) -> Result<String> {
        if role.is_empty() || !role.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!("database role name {role:?} must be letters and digits");
        }
        Ok(format!("v-%-{role}-%"))
    }

    async fn psql(&self, sql: &str) -> Result<String> {
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(&self.host)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-U")
            .arg(&self.user)
            .arg("-d")
            .arg(&self.db)
            .arg("-c")
            .arg(sql)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(120), out)
            .await
            .context("psql timed out")?
            .context("run psql")?;
        if !out.status.success() {
            bail!(
                "psql failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Reachable and answering.
    pub async fn check(&self) -> Result<()> {
        self.psql("SELECT 1").await.map(|_| ())
    }

    /// Users of database role `role` that exist now.
    pub async fn count_roles(&self, role: &str) -> Result<u64> {
        let pattern = Self::pattern(role)?;
        let n = self
            .psql(&format!(
                "SELECT count(*) FROM pg_roles WHERE rolname LIKE '{pattern}'"
            ))
            .await?;
        n.parse().with_context(|| format!("psql count {n:?}"))
    }

    /// Drops every user of database role `role` (the users own nothing: the bench's statements grant
    /// nothing). Returns how many there were.
    pub async fn drop_roles(&self, role: &str) -> Result<u64> {
        let n = self.count_roles(role).await?;
        if n > 0 {
            let pattern = Self::pattern(role)?;
            self.psql(&format!(
                "DO $$DECLARE r record; BEGIN FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE '{pattern}' \
                 LOOP EXECUTE format('DROP ROLE %I', r.rolname); END LOOP; END$$"
            ))
            .await?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_keeps_the_templates_and_patterns_refuse_sql() {
        let pg = Pg {
            host: "127.0.0.1".into(),
            port: 5432,
            db: "test".into(),
            user: "postgres".into(),
        };
        assert_eq!(
            pg.connection_url(),
            "postgresql://{{username}}:{{password}}@127.0.0.1:5432/test"
        );
        assert_eq!(
            Pg::pattern("benchdb").ok().as_deref(),
            Some("v-%-benchdb-%")
        );
        assert!(Pg::pattern("x'; DROP").is_err());
    }
}
