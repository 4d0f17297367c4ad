//! A small client of RabbitMQ's management HTTP API: the five calls the engine needs.
//!
//! Passwords (the administrator's and the issued users') never reach an error message:
//! transport errors are described by their class only (no URL, which may carry
//! credentials), and response bodies are cut short and scrubbed of the password sent.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// Everything but RFC 3986's unreserved characters is escaped: a vhost named `/` becomes
/// `%2F`, as the management API expects.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How long one management call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A failed management call. The message is safe to show: no password, no URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MgmtError {
    /// The HTTP status, when RabbitMQ answered.
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
}

/// A client for one management endpoint and administrator.
pub struct Management {
    http: reqwest::Client,
    base: String,
    username: String,
    password: Zeroizing<String>,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Describes a transport failure by its class only.
fn transport(e: &reqwest::Error) -> MgmtError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() || e.is_request() {
        "could not send the request"
    } else {
        "transport error"
    };
    MgmtError {
        status: None,
        message: format!("RabbitMQ management API: {what}"),
    }
}

/// Checks that `uri` is a usable management URL (http or https, with a host).
pub fn check_uri(uri: &str) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(uri).map_err(|_| "connection_uri is not a valid URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("connection_uri must be an http or https URL");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("connection_uri has no host");
    }
    Ok(())
}

impl Management {
    /// A client for `uri` (`http://127.0.0.1:15672`) as `username`.
    pub fn new(uri: &str, username: &str, password: Zeroizing<String>) -> Result<Self, MgmtError> {
        check_uri(uri).map_err(|m| MgmtError {
            status: None,
            message: m.to_owned(),
        })?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // The management API never redirects; following one could send the
            // administrator's credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| transport(&e))?;
        Ok(Management {
            http,
            base: uri.trim_end_matches('/').to_owned(),
            username: username.to_owned(),
            password,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        secret: Option<&str>,
    ) -> Result<(u16, Value), MgmtError> {
        let mut req = self
            .http
            .request(method, format!("{}/api/{path}", self.base))
            .basic_auth(&self.username, Some(self.password.as_str()));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| transport(&e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| transport(&e))?;
        if (200..300).contains(&status) {
            return Ok((
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ));
        }
        // RabbitMQ answers `{"error": ..., "reason": ...}`; keep the reason, short.
        let reason = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("reason")
                    .or_else(|| v.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let mut reason: String = reason.chars().take(200).collect();
        for s in [Some(self.password.as_str()), secret].into_iter().flatten() {
            if !s.is_empty() {
                reason = reason.replace(s, "<redacted>");
            }
        }
        Err(MgmtError {
            status: Some(status),
            message: if reason.is_empty() {
                format!("RabbitMQ management API answered {status}")
            } else {
                format!("RabbitMQ management API answered {status}: {reason}")
            },
        })
    }

    /// Lists users: proves the URL and the administrator's credentials work.
    pub async fn verify(&self) -> Result<(), MgmtError> {
        self.send(reqwest::Method::GET, "users", None, None)
            .await
            .map(|_| ())
    }

    /// The names of all users.
    #[cfg(test)]
    pub async fn user_names(&self) -> Result<Vec<String>, MgmtError> {
        let (_, v) = self.send(reqwest::Method::GET, "users", None, None).await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Creates (or replaces) a user with a password and comma-separated tags.
    pub async fn put_user(&self, name: &str, password: &str, tags: &str) -> Result<(), MgmtError> {
        let body = json!({ "password": password, "tags": tags });
        self.send(
            reqwest::Method::PUT,
            &format!("users/{}", seg(name)),
            Some(&body),
            Some(password),
        )
        .await
        .map(|_| ())
    }

    /// Sets a user's configure/write/read permissions in a vhost.
    pub async fn put_permissions(
        &self,
        vhost: &str,
        user: &str,
        configure: &str,
        write: &str,
        read: &str,
    ) -> Result<(), MgmtError> {
        let body = json!({ "configure": configure, "write": write, "read": read });
        self.send(
            reqwest::Method::PUT,
            &format!("permissions/{}/{}", seg(vhost), seg(user)),
            Some(&body),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Sets a user's topic permissions on one exchange of a vhost.
    pub async fn put_topic_permissions(
        &self,
        vhost: &str,
        user: &str,
        exchange: &str,
        write: &str,
        read: &str,
    ) -> Result<(), MgmtError> {
        let body = json!({ "exchange": exchange, "write": write, "read": read });
        self.send(
            reqwest::Method::PUT,
            &format!("topic-permissions/{}/{}", seg(vhost), seg(user)),
            Some(&body),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Deletes a user; a user that is already gone is not an error.
    pub async fn delete_user(&self, name: &str) -> Result<(), MgmtError> {
        match self
            .send(
                reqwest::Method::DELETE,
                &format!("users/{}", seg(name)),
                None,
                None,
            )
            .await
        {
            Err(MgmtError {
                status: Some(404), ..
            }) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Closes every open connection of a user, so a revoked user keeps no session
    /// whatever the broker does with the connections of a deleted user.
    pub async fn close_connections(&self, user: &str) -> Result<(), MgmtError> {
        match self
            .send(
                reqwest::Method::DELETE,
                &format!("connections/username/{}", seg(user)),
                None,
                None,
            )
            .await
        {
            Err(MgmtError {
                status: Some(404), ..
            }) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn segments_escape_slashes() {
        assert_eq!(seg("/"), "%2F");
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
        assert_eq!(seg("root-1a2b_c.d~"), "root-1a2b_c.d~");
    }

    #[test]
    fn uris_are_checked() {
        assert!(check_uri("http://127.0.0.1:15672").is_ok());
        assert!(check_uri("https://rabbit.example:15671/").is_ok());
        assert!(check_uri("amqp://127.0.0.1:5672").is_err());
        assert!(check_uri("not a url").is_err());
        assert!(check_uri("").is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let m = Management::new(
            "http://127.0.0.1:15672",
            "admin",
            Zeroizing::new("hunter2-secret".to_owned()),
        )
        .unwrap();
        let d = format!("{m:?}");
        assert!(d.contains("admin"));
        assert!(!d.contains("hunter2"));
    }
}
