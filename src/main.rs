//! Parse, dispatch, and turn an error into a message and an exit code:
//! 0 done, 1 a problem found or the named credential not stored, 2 bad usage.

use std::io::{BufRead, IsTerminal, Read};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use git_credential_patrol::commands;
use git_credential_patrol::output::BadInput;
use git_credential_patrol::{cli, memory, output};

/// How long an unknown word waits for git's request on stdin. Git writes it
/// at once and closes the pipe; a script's stdin that never ends must not
/// hang it.
const REQUEST_WAIT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    memory::protect();
    let at_terminal = std::io::stdin().is_terminal();
    let cli = match cli::parse(std::env::args_os(), || !at_terminal && request_on_stdin()) {
        Ok(Some(cli)) => cli,
        Ok(None) => return ExitCode::SUCCESS,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    if at_terminal && let Some((operation, instead)) = cli.command.git_only() {
        output::Messages::stderr().error(&format!(
            "`{operation}` is for git, which sends it a request on stdin; to try it, run {instead}"
        ));
        return ExitCode::from(2);
    }
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

/// Whether git's request (`key=value` lines) waits on stdin. Only an
/// unknown word asks, so the bytes read here are never an operation's.
fn request_on_stdin() -> bool {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let _ = std::io::stdin()
            .lock()
            .take(git_credential_patrol::protocol::MAX_LINE as u64)
            .read_until(b'\n', &mut line);
        let _ = sender.send(line);
    });
    receiver
        .recv_timeout(REQUEST_WAIT)
        .is_ok_and(|line| cli::is_request_line(&line))
}
