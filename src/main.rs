//! Parse, dispatch, and turn an error into a message and an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use git_credential_patrol::commands::{self, BadInput};
use git_credential_patrol::{cli, output};

fn main() -> ExitCode {
    // Git always pipes the request into a helper; a person types at a terminal.
    let from_git = !std::io::stdin().is_terminal();
    let cli = match cli::parse(std::env::args_os(), from_git) {
        Ok(Some(cli)) => cli,
        Ok(None) => return ExitCode::SUCCESS,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            output::Messages::stderr().error(&format!("{err:#}"));
            // Returning from main ends the process even while a keychain
            // call that timed out is still hanging on its worker thread.
            let bad_input = err.chain().any(|cause| cause.is::<BadInput>());
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}
