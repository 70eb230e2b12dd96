//! `GIT_CREDENTIAL_PATROL_TRACE`: `1` (or `true`) traces to stderr, an
//! absolute path appends to that file. Each line has the milliseconds since
//! start. The file is private, and only ever a regular file (see `open`).
//! Callers pass only names, counts and outcomes, never a secret:
//! nothing here can see one, because `Secret` prints as `<redacted>`.
//! Every line is escaped (`terminal::escape`) before it is written.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

struct Sink {
    start: Instant,
    out: Mutex<Box<dyn Write + Send>>,
}

static SINK: OnceLock<Option<Sink>> = OnceLock::new();

fn sink() -> Option<&'static Sink> {
    SINK.get_or_init(|| {
        let value = std::env::var_os("GIT_CREDENTIAL_PATROL_TRACE")?;
        let text = value.to_string_lossy();
        let out: Box<dyn Write + Send> = match text.as_ref() {
            "" | "0" | "false" => return None,
            "1" | "true" | "2" => Box::new(std::io::stderr()),
            path => Box::new(open(path)?),
        };
        Some(Sink {
            start: Instant::now(),
            out: Mutex::new(out),
        })
    })
    .as_ref()
}

/// The trace file: created private (0600), appended to; a symbolic link
/// is not followed and a FIFO or device does not block or receive the
/// trace, because only a regular file is written to.
fn open(path: &str) -> Option<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    crate::fs::no_follow(&mut options);
    let file = options.open(path).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

pub fn enabled() -> bool {
    sink().is_some()
}

pub fn line(message: std::fmt::Arguments<'_>) {
    if let Some(sink) = sink()
        && let Ok(mut out) = sink.out.lock()
    {
        let ms = sink.start.elapsed().as_secs_f64() * 1000.0;
        // Names in the trace come from git's request, the configuration
        // and servers: escaped as on every other line a person reads.
        let message = crate::terminal::escape(&message.to_string());
        let _ = writeln!(out, "patrol: {ms:8.3} ms  {message}");
    }
}

/// `trace!("keychain get {service}")`: formats only when tracing is on.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::trace::enabled() {
            $crate::trace::line(format_args!($($arg)*));
        }
    };
}
