//! The database engine against the real services on this machine (PostgreSQL on 5432,
//! MariaDB on 3306, Redis on 6379, and PostgreSQL clusters with password checking started
//! by the tests). A test whose service is unreachable prints `SKIP:` and passes, unless
//! `ARCA_TEST_REQUIRE_SERVICES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mysql;
mod pg_scram;
mod postgres;
mod redis;
mod support;
