//! `arca`: one binary for the server and the command-line client (the Vault/OpenBao
//! commands, see [`cli`]).
//!
//! Arguments follow Vault's Go-flag style (`arca server -dev -dev-root-token-id=root`);
//! [`args::normalize`] rewrites single-dash long flags for clap.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod cli;

/// mimalloc instead of glibc's allocator. After the bench's login scenarios left ~50 k
/// tokens' worth of freed blocks behind, glibc's `_int_malloc` spent a quarter of the
/// server's CPU walking its bins and KV v2 reads at 16 clients fell from 27 k to 13 k
/// req/s in the same process; mimalloc's size-segregated free lists do not degrade so.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "arca",
    about = "Arca: secrets management that speaks the Vault API",
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start an Arca server.
    Server(ServerArgs),
    /// Print the version.
    Version,
    #[command(flatten)]
    Client(Box<cli::ClientCommand>),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Configuration file or directory (HCL or JSON); repeatable.
    #[arg(long = "config")]
    config: Vec<PathBuf>,
    /// Development mode: in-memory, initialised and unsealed, root token printed.
    #[arg(long = "dev")]
    dev: bool,
    /// Root token id in dev mode.
    #[arg(long = "dev-root-token-id", env = "VAULT_DEV_ROOT_TOKEN_ID")]
    dev_root_token_id: Option<String>,
    /// Listen address in dev mode.
    #[arg(long = "dev-listen-address", env = "VAULT_DEV_LISTEN_ADDRESS")]
    dev_listen_address: Option<String>,
    /// Log level: trace, debug, info, warn, error (overrides the configuration).
    #[arg(long = "log-level", env = "VAULT_LOG_LEVEL")]
    log_level: Option<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(args::normalize(std::env::args())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Version => {
            println!("Arca v{}", arca_core::VERSION);
            ExitCode::SUCCESS
        }
        Command::Server(a) => server(a),
        Command::Client(c) => cli::run(*c),
    }
}

fn server(a: ServerArgs) -> ExitCode {
    let opts = arca_server::ServerOptions {
        config_paths: a.config,
        dev: a.dev,
        dev_root_token_id: a.dev_root_token_id,
        dev_listen_address: a.dev_listen_address,
    };
    let prepared = match arca_server::prepare(&opts) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error loading configuration: {e}");
            return ExitCode::from(1);
        }
    };
    let level = a
        .log_level
        .or_else(|| prepared.log_level().map(str::to_owned))
        .unwrap_or_else(|| "info".to_owned());
    // The database drivers log whole statements at debug level, and CREATE ROLE / ALTER
    // USER statements carry passwords: they are capped whatever the level.
    let filter = tracing_subscriber::EnvFilter::try_new(format!(
        "{level},hyper=warn,h2=warn,tokio_postgres=warn,mysql_async=warn"
    ))
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    for note in arca_server::harden_process(prepared.disable_mlock()) {
        tracing::warn!("{note}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(arca_server::run(prepared, arca_server::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error starting the server: {e}");
            ExitCode::from(1)
        }
    }
}
