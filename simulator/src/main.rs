//! The `peerlab` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Rehearse and test Interledger peering the way Rafiki does it, in seconds.
#[derive(Debug, Parser)]
#[command(name = "peerlab", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one connector instance configured by Rafiki's environment variables.
    Node,
    /// Start the network a topology file describes (the default topology without one) and serve
    /// until interrupted.
    Up { topology: Option<PathBuf> },
    /// Start a network, run its traffic and faults, and print a report.
    Run { topology: Option<PathBuf> },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = match cli.command {
        Command::Node => "node",
        Command::Up { .. } => "up",
        Command::Run { .. } => "run",
    };
    eprintln!(
        "peerlab {name}: not available in this build yet; the connector core is all there is"
    );
    ExitCode::from(2)
}
