//! `generate man DIR` and `generate completions DIR`: man pages and shell
//! completions made from the clap definitions in `cli`, so they always match
//! the program they ship with. Packages run this at build time; it is hidden
//! from `--help` because nobody else needs it. Prints each file it writes.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::CommandFactory;
use clap_complete::{Generator, Shell};

use super::Context;
use crate::cli::{Cli, GenerateArgs, Generated, StoredNames};

const BIN: &str = "git-credential-patrol";

/// People type `git credential-patrol <TAB>` as often as the dashed name.
/// Git's bash completion handles `git foo` by calling `_git_foo` when it
/// exists, after asking bash-completion to load the file named `git-foo`; so
/// this file, installed as `git-credential-patrol`, serves both forms. The
/// clap-generated function (`_git__credential__patrol`) reads `COMP_WORDS`, so
/// it is handed the words from the subcommand on, as if the dashed name had
/// been typed. Git's completion
/// is registered with `nospace` and adds spaces itself; ours does not, hence
/// the `compopt`.
const BASH_GIT_SUBCOMMAND: &str = r#"
# `git credential-patrol <TAB>`: git's completion calls this function.
_git_credential_patrol() {
    local cmd_idx=${__git_cmd_idx:-1}
    local COMP_WORDS=(git-credential-patrol "${words[@]:cmd_idx+1}")
    local COMP_CWORD=$((cword - cmd_idx))
    _git_credential_patrol_stored ||
        _git__credential__patrol git-credential-patrol "$cur" "${COMP_WORDS[COMP_CWORD-1]}"
    compopt +o nospace 2>/dev/null
    return 0
}
"#;

/// Stored URLs after `rotate`, `erase`, `token`, `expiry` and `check`, and
/// stored accounts after `--user`, asked of the program itself (`stored`).
/// It reads the line as typed and splits it on blanks only: bash would cut
/// `https://github.com` at its colon, and git's completion hands over its
/// words differently. Returns 1 where clap's completion should answer.
const BASH_STORED: &str = r#"
# Stored URLs and accounts, from `git-credential-patrol stored`.
_git_credential_patrol_stored() {
    local line=${COMP_LINE:0:COMP_POINT} words word command="" positional=0 value=0 i
    read -ra words <<<"$line"
    [[ -z $line || $line == *[[:blank:]] ]] && words+=("")
    ((${#words[@]} >= 2)) || return 1
    local cur=${words[${#words[@]}-1]} prev=${words[${#words[@]}-2]}
    for ((i = 1; i < ${#words[@]} - 1; i++)); do
        word=${words[i]}
        if ((value)); then
            value=0
            continue
        fi
        case $word in
        --user | --expires | --expires-at | --repo | --expiring-within | --token-env | --host | --fail-on | --warn-before | --rotate-after | --warn-every | -c | -C)
            value=1 ;;
        -*) ;;
        rotate | erase | token | expiry | check)
            if [[ -z $command ]]; then command=$word; else positional=$((positional + 1)); fi ;;
        *) [[ -n $command ]] && positional=$((positional + 1)) ;;
        esac
    done
    [[ -n $command && $cur != -* ]] || return 1
    local what
    case $prev in
    --user) what=users ;;
    --expires | --expires-at | --repo | --expiring-within | --token-env | --host | --fail-on) return 1 ;;
    *)
        ((positional == 0)) || return 1
        what=urls
        ;;
    esac
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$(git-credential-patrol stored "$what" 2>/dev/null)" -- "$cur"))
    # Bash replaces only what follows the last colon or equals sign.
    local prefix=${cur%"${cur##*[:=]}"}
    [[ -n $prefix ]] && COMPREPLY=("${COMPREPLY[@]#"$prefix"}")
    return 0
}

_git_credential_patrol_complete() {
    _git_credential_patrol_stored || _git__credential__patrol "$@"
}
"#;

/// The same for zsh: `_arguments` calls these for the URL and `--user`
/// (clap writes `_urls` and `_users` there, for the value hints in `cli`).
const ZSH_STORED: &str = r#"
# Stored URLs and accounts, from `git-credential-patrol stored`.
_git_credential_patrol_urls() {
    local -a urls
    urls=(${(f)"$(git-credential-patrol stored urls 2>/dev/null)"})
    _wanted urls expl 'stored URL' compadd -a urls
}
_git_credential_patrol_users() {
    local -a users
    users=(${(f)"$(git-credential-patrol stored users 2>/dev/null)"})
    _wanted users expl 'stored account' compadd -a users
}
"#;

/// The same for fish: URLs as the first argument after those commands,
/// accounts after `--user`.
const FISH_STORED: &str = r#"
# Stored URLs and accounts, from `git-credential-patrol stored`.
function __fish_git_credential_patrol_wants_url
    set -l words (commandline -opc)
    set -l command
    set -l value 0
    for word in $words[2..-1]
        if test $value = 1
            set value 0
            continue
        end
        switch $word
            case --user --expires --expires-at --repo --expiring-within --token-env --host --fail-on --warn-before --rotate-after --warn-every
                set value 1
            case '-*'
            case '*'
                if test -z "$command"
                    set command $word
                else
                    return 1
                end
        end
    end
    contains -- "$command" rotate erase token expiry check
end
complete -c git-credential-patrol -n __fish_git_credential_patrol_wants_url -f -a "(git-credential-patrol stored urls 2>/dev/null)" -d 'stored'
complete -c git-credential-patrol -n "__fish_git_credential_patrol_using_subcommand rotate erase token expiry check" -l user -x -a "(git-credential-patrol stored users 2>/dev/null)"
"#;

pub fn run(args: &GenerateArgs, mut out: impl Write) -> Result<()> {
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let written = match args.what {
        Generated::Man => man_pages(&args.dir),
        Generated::Completions => completions(&args.dir),
    }
    .with_context(|| format!("cannot write into {}", args.dir.display()))?;
    for path in written {
        writeln!(out, "{}", path.display())?;
    }
    out.flush()?;
    Ok(())
}

/// `git-credential-patrol.1`, and `git-credential-patrol-NAME.1` for each
/// command that `--help` shows.
pub fn man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    fn write(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> io::Result<()> {
        let man = clap_mangen::Man::new(cmd.clone()).source(format!("{BIN} {}", crate::VERSION));
        let path = dir.join(man.get_filename());
        let mut page = Vec::new();
        render_page(&man, &cmd, &mut page)?;
        fs::write(&path, page)?;
        written.push(path);
        for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            write(sub.clone(), dir, written)?;
        }
        Ok(())
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building gives each subcommand its full name (`git-credential-patrol-list`).
    cmd.build();
    let mut written = Vec::new();
    write(cmd, dir, &mut written)?;
    Ok(written)
}

/// `stored urls|users`: what the completions offer after `rotate`, `erase`,
/// `token`, `expiry` and `check` (URLs) and after `--user` (accounts). From
/// the index alone: no keychain, no git, no message, so a TAB stays quick
/// and quiet whatever state things are in.
pub fn stored(ctx: &Context, what: StoredNames, mut out: impl Write) -> Result<()> {
    let snapshot = ctx.index.read();
    let mut names: Vec<String> = snapshot
        .records
        .iter()
        .filter(|r| r.is_live())
        .map(|r| match what {
            StoredNames::Urls => r.target.url(),
            StoredNames::Users => r.username.clone(),
        })
        .filter(|name| !name.is_empty() && !name.contains(char::is_control))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        writeln!(out, "{name}")?;
    }
    out.flush()?;
    Ok(())
}

/// For `install`: `git credential-patrol --help` runs `man
/// git-credential-patrol`, so the pages must be where `man` looks. man-db
/// looks in `PREFIX/share/man` for each `PREFIX/bin` on `PATH`, which is
/// where `cargo install` (`~/.cargo/bin`) and `make install`-style layouts
/// put a program; pages are written there when `man` does not find them
/// yet. Anywhere else (a build directory), it says what to run.
pub fn install_man_pages(mut out: impl Write) -> Result<()> {
    if let Some(found) = man_finds_page() {
        writeln!(
            out,
            "Manual pages: `git credential-patrol --help` shows {}.",
            crate::terminal::escape(&found)
        )?;
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot tell where this program is")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let prefix = exe
        .parent()
        .filter(|bin| bin.file_name().is_some_and(|name| name == "bin"))
        .and_then(Path::parent);
    let how = "put the manual pages where `man` looks, with: \
               git-credential-patrol generate man PREFIX/share/man/man1 \
               (for a PREFIX/bin on your PATH, or a directory in `manpath`)";
    let Some(prefix) = prefix else {
        writeln!(
            out,
            "Manual pages: this program is not in a `bin` directory; for \
             `git credential-patrol --help`, {how}."
        )?;
        return Ok(());
    };
    let dir = prefix.join("share/man/man1");
    let shown = crate::terminal::escape(&dir.display().to_string());
    let share_man = crate::terminal::escape(&prefix.join("share/man").display().to_string());
    match fs::create_dir_all(&dir).and_then(|()| man_pages(&dir)) {
        Ok(_) if man_finds_page().is_some() => writeln!(
            out,
            "Manual pages: written to {shown}; `git credential-patrol --help` shows them."
        )?,
        // `bin` is not on PATH, MANPATH overrides the search, or there is
        // no `man` at all.
        Ok(_) => writeln!(
            out,
            "Manual pages: written to {shown}, but `man` does not find them; for \
             `git credential-patrol --help`, add {share_man} to MANPATH \
             (export MANPATH=\"{share_man}:$MANPATH\")."
        )?,
        Err(err) => writeln!(
            out,
            "Manual pages: could not write {shown} ({err}); for `git credential-patrol --help`, \
             {how}."
        )?,
    }
    Ok(())
}

/// Where `man -w` finds our page, if it does.
fn man_finds_page() -> Option<String> {
    let found = std::process::Command::new("man")
        .args(["-w", BIN])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    (!path.is_empty()).then_some(path)
}

/// clap's sections (what `--help` says), then what a manual adds: exit
/// status, files, environment, examples and where to read on.
fn render_page(man: &clap_mangen::Man, cmd: &clap::Command, out: &mut Vec<u8>) -> io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|arg| !arg.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    // The command's own name: `list` for `git-credential-patrol-list`.
    let name = cmd
        .get_display_name()
        .and_then(|full| full.strip_prefix(&format!("{BIN}-")))
        .unwrap_or_default();
    let mut section = |title: &str, body: String| {
        out.extend_from_slice(format!(".SH \"{title}\"\n{body}").as_bytes());
    };
    section("EXIT STATUS", exit_status(name));
    section("FILES", FILES.iter().map(|(f, d)| tagged(f, d)).collect());
    section(
        "ENVIRONMENT",
        ENVIRONMENT.iter().map(|(v, d)| tagged(v, d)).collect(),
    );
    section("EXAMPLES", examples(name));
    section("SEE ALSO", see_also(name, cmd));
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// What each exit code means for the command `name` (empty: the program).
fn exit_status(name: &str) -> String {
    let found = match name {
        "get" | "store" | "erase" | "capability" => {
            "for git's operations, also when nothing matched (a `get` with no match prints \
             nothing). A person's `erase URL` exits 1 when that credential is not stored."
        }
        "list" => "and nothing needs attention.",
        "check" => "and no problem was found.",
        "doctor" => "and nothing needs fixing.",
        "import" => "and every credential was imported.",
        "notify" => "and nothing is due, or every notification was shown.",
        "schedule" => "and the job is installed or removed (with --status: the job exists).",
        _ => "",
    };
    let one = match name {
        "list" => "a token has expired, is expiring or is due for rotation.",
        "check" => {
            "a problem was found (each is named with its fix), or the URL names no stored credential."
        }
        "doctor" => "something needs fixing (each is named with its fix).",
        "import" => "a line stayed behind in its plaintext file.",
        "notify" => "something is due and no notification service runs: the lines went to stderr.",
        "schedule" => "the job could not be written or removed (with --status: there is no job).",
        "expiry" | "rotate" | "token" => {
            "the URL (and --user) names no stored credential, or the operation failed."
        }
        _ => {
            "a problem was found (list, check, doctor, import), an operation failed, or the \
             credential a command names is not stored."
        }
    };
    [
        (
            "0",
            format!(
                "Done{}",
                if found.is_empty() {
                    ".".to_owned()
                } else {
                    format!(", {found}")
                }
            ),
        ),
        ("1", format!("Failure: {one}")),
        (
            "2",
            "Bad usage: a mistyped command or option, an SSH remote where a URL is expected, \
             a date in the past without --allow-past, several accounts and no --user, or a \
             request git would not send."
                .to_owned(),
        ),
    ]
    .iter()
    .map(|(code, meaning)| tagged(code, meaning))
    .collect()
}

const FILES: &[(&str, &str)] = &[
    (
        "$XDG_DATA_HOME/git-credential-patrol/",
        "The index (on Linux; usually ~/.local/share/git-credential-patrol/; on macOS \
         ~/Library/Application Support/git-credential-patrol/, on Windows \
         %APPDATA%\\git-credential-patrol\\data\\): which account, kind of token, scopes and \
         expiry each credential has, never a secret. Mode 0600 in a 0700 directory.",
    ),
    (
        "Secret Service items (Linux)",
        "One item per credential in the default collection, labelled \
         \"git: https://github.com (alice)\", with the attributes \
         application=git-credential-patrol, service=git-credential-patrol:URL and \
         username=USER. On macOS the login Keychain, on Windows the Credential Manager, \
         under the same service names.",
    ),
    (
        "~/.git-credentials, $XDG_CONFIG_HOME/git/credentials",
        "Plaintext files of git's store helper, which import reads and empties.",
    ),
    (
        "~/.gitconfig and the other git configuration files",
        "credential.helper (written by install) and the patrol.* settings.",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "GIT_CREDENTIAL_PATROL_TRACE",
        "1 traces each step with timings on stderr; an absolute path appends the trace to \
         that file. Secrets are never traced.",
    ),
    (
        "GIT_CREDENTIAL_PATROL_NO_NOTIFY",
        "Set and not empty: notify shows and prints nothing and exits 0.",
    ),
    (
        "NO_COLOR",
        "Set and not empty: no colour, even on a terminal. Colour is only ever used when \
         stderr is a terminal.",
    ),
    (
        "XDG_DATA_HOME",
        "Where the index lives on Linux (default ~/.local/share).",
    ),
    (
        "DBUS_SESSION_BUS_ADDRESS",
        "The session bus where the Secret Service is found on Linux.",
    ),
];

/// Examples for the command `name`, taken from the README and guide.
fn examples(name: &str) -> String {
    let list: &[(&str, &str)] = match name {
        "" => &[
            (
                "Let git use patrol for every repository:",
                "git credential-patrol install",
            ),
            (
                "What is stored, most urgent first:",
                "git credential-patrol list",
            ),
            (
                "Record an expiry the forge does not report:",
                "git credential-patrol expiry github.com 2026-12-31",
            ),
            (
                "Replace a token, step by step:",
                "git credential-patrol rotate github.com",
            ),
            (
                "Ask the forges about every token:",
                "git credential-patrol check",
            ),
            (
                "Hand a token to a tool that reads it from the environment:",
                "export GITHUB_TOKEN=$(git credential-patrol token github.com)",
            ),
            (
                "Warn a month ahead, on the helper line:",
                "git config --global credential.helper 'patrol --warn-before=30d'",
            ),
        ],
        "get" => &[(
            "Ask for a credential as git does, and see what patrol answers:",
            "printf 'url=https://github.com\\n\\n' | git credential fill",
        )],
        "store" => &[(
            "Store a credential as git does after a successful push:",
            "printf 'url=https://alice@github.com\\npassword=ghp_EXAMPLE\\n\\n' | git credential approve",
        )],
        "erase" => &[
            (
                "Forget a token locally:",
                "git credential-patrol erase github.com --user alice",
            ),
            (
                "Erase as git does when a server refuses a token:",
                "printf 'url=https://github.com\\n\\n' | git credential reject",
            ),
        ],
        "capability" => &[(
            "What this helper supports:",
            "git-credential-patrol capability",
        )],
        "list" => &[
            ("What is stored:", "git credential-patrol list"),
            ("The same for scripts:", "git credential-patrol list --json"),
            (
                "Expiry dates for a calendar:",
                "git credential-patrol list --ics --output ~/tokens.ics",
            ),
            (
                "From cron, mail only when something needs attention:",
                "git credential-patrol list >/dev/null || git credential-patrol list",
            ),
        ],
        "expiry" => &[
            (
                "A date:",
                "git credential-patrol expiry github.com 2026-12-31",
            ),
            (
                "Ninety days from now:",
                "git credential-patrol expiry gitlab.example.com 90d",
            ),
            (
                "One account of several:",
                "git credential-patrol expiry github.com never --user alice",
            ),
            (
                "A token that really has expired:",
                "git credential-patrol expiry example.com 2020-01-01 --allow-past",
            ),
        ],
        "rotate" => &[
            ("Step by step:", "git credential-patrol rotate github.com"),
            (
                "From a script, with the new token's expiry:",
                "echo \"$NEW_TOKEN\" | git credential-patrol rotate github.com --expires 2027-03-01",
            ),
            (
                "On GitLab, in one call:",
                "git credential-patrol rotate gitlab.com --expires 90d",
            ),
        ],
        "check" => &[
            ("Every stored token:", "git credential-patrol check"),
            (
                "One host, and whether its token reaches a repository:",
                "git credential-patrol check github.com --repo octo-org/hello",
            ),
            (
                "For scripts, tokens expiring within a month:",
                "git credential-patrol check --expiring-within 30d --json",
            ),
        ],
        "import" => &[
            (
                "See what would move:",
                "git credential-patrol import --dry-run",
            ),
            ("Move it:", "git credential-patrol import"),
        ],
        "install" => &[
            ("For every repository:", "git credential-patrol install"),
            (
                "For this repository only:",
                "git credential-patrol install --local",
            ),
        ],
        "uninstall" => &[("Undo install:", "git credential-patrol uninstall")],
        "notify" => &[
            (
                "A desktop notification for each token that needs you:",
                "git credential-patrol notify",
            ),
            (
                "Ask the forges first:",
                "git credential-patrol notify --check",
            ),
        ],
        "schedule" => &[
            ("Run notify every day:", "git credential-patrol schedule"),
            (
                "Whether it is scheduled, and when it last ran:",
                "git credential-patrol schedule --status",
            ),
            ("Stop it:", "git credential-patrol schedule --remove"),
        ],
        "token" => &[(
            "Hand a token to a tool:",
            "export GITHUB_TOKEN=$(git credential-patrol token github.com)",
        )],
        "doctor" => &[(
            "What is wrong, and the fix for each:",
            "git credential-patrol doctor",
        )],
        _ => &[],
    };
    list.iter()
        .map(|(what, line)| {
            format!(
                ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
                text(what),
                text(line)
            )
        })
        .collect()
}

fn see_also(name: &str, cmd: &clap::Command) -> String {
    let mut pages: Vec<String> = if name.is_empty() {
        cmd.get_subcommands()
            .filter(|sub| !sub.is_hide_set())
            .map(|sub| format!("{BIN}-{}(1)", sub.get_name()))
            .collect()
    } else {
        vec![format!("{BIN}(1)")]
    };
    pages.extend([
        "git-credential(1)".to_owned(),
        "gitcredentials(7)".to_owned(),
    ]);
    format!(".PP\n{}\n", text(&pages.join(", ")))
}

/// `.TP` with a bold tag and a paragraph.
fn tagged(tag: &str, body: &str) -> String {
    format!(".TP\n\\fB{}\\fR\n{}\n", text(tag), text(body))
}

/// Plain text as roff reads it: backslashes and hyphens escaped, and no
/// line that starts with a control character.
fn text(plain: &str) -> String {
    let escaped = plain.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// `git-credential-patrol.bash`, `_git-credential-patrol` (zsh),
/// `git-credential-patrol.fish` and `_git-credential-patrol.ps1`. All but
/// PowerShell's also offer the stored URLs and accounts.
fn completions(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut cmd = Cli::command();
    let mut written = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, BIN, &mut script);
        let text = String::from_utf8_lossy(&script);
        let script = match shell {
            Shell::Bash => format!(
                "{}{BASH_STORED}{BASH_GIT_SUBCOMMAND}",
                repair_bash(&text).replace(
                    "complete -F _git__credential__patrol ",
                    "complete -F _git_credential_patrol_complete "
                )
            ),
            Shell::Zsh => {
                let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
                format!(
                    "{first}\n{ZSH_STORED}{}",
                    rest.replace(":_urls'", ":_git_credential_patrol_urls'")
                        .replace(":_users'", ":_git_credential_patrol_users'")
                )
            }
            Shell::Fish => format!("{text}{FISH_STORED}"),
            _ => text.into_owned(),
        };
        let path = dir.join(shell.file_name(BIN));
        fs::write(&path, script)?;
        written.push(path);
    }
    Ok(written)
}

/// clap_complete spells the states of a hyphenated program name two ways in
/// its bash script (clap-rs/clap#6421), so nothing after a subcommand would
/// complete; this spells them the one way. Once clap is fixed it changes
/// nothing.
fn repair_bash(script: &str) -> String {
    script.replace(
        &format!("{}__subcmd__", BIN.replace('-', "__subcmd__")),
        &format!("{}__subcmd__", BIN.replace('-', "__")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_never_reads_text_as_a_request_or_an_escape() {
        assert_eq!(text("a-b"), "a\\-b");
        assert_eq!(text("C:\\git"), "C:\\egit");
        assert_eq!(text(".git-credentials"), "\\&.git\\-credentials");
        assert_eq!(text("'quoted'"), "\\&'quoted'");
        assert_eq!(text("mid.dle"), "mid.dle");
    }

    #[test]
    fn every_page_has_examples_and_says_what_0_and_1_mean() {
        let cli = Cli::command();
        let names: Vec<&str> = std::iter::once("")
            .chain(
                cli.get_subcommands()
                    .filter(|c| !c.is_hide_set())
                    .map(|c| c.get_name()),
            )
            .collect();
        assert!(names.len() > 10, "{names:?}");
        for name in names {
            assert!(examples(name).contains(".nf\n"), "no example for {name:?}");
            let status = exit_status(name);
            assert!(status.contains("Done"), "{name:?}: {status}");
            assert!(status.contains("\\fB1\\fR"), "{name:?}: {status}");
        }
    }

    #[test]
    fn bash_completion_states_are_spelt_one_way() {
        let broken = "git__subcmd__credential__subcmd__patrol__subcmd__list) ;;";
        assert_eq!(
            repair_bash(broken),
            "git__credential__patrol__subcmd__list) ;;"
        );
        let fine = "git__credential__patrol__subcmd__list) ;;";
        assert_eq!(repair_bash(fine), fine);
    }
}
