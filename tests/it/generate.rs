//! What packages ship besides the binary: the man pages and completions that
//! `generate` writes, checked with the tools that will read them (groff, bash
//! with git's own completion), and `--version` naming the commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use git_credential_patrol::cli::Cli;

use crate::support::env::TestEnv;
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, text};

/// Runs `generate WHAT` into a fresh directory; returns it and the files
/// the command says it wrote.
fn generate(env: &TestEnv, what: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = env.root().join(what);
    let out = env.patrol(&["generate", what, dir.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = text(&out.stdout).lines().map(PathBuf::from).collect();
    (dir, written)
}

fn file_names(paths: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn man_pages_cover_every_visible_command_and_render_cleanly() {
    let env = TestEnv::with_keyring(Keyring::NoBus);
    let (dir, written) = generate(&env, "man");

    let mut expected: Vec<String> = Cli::command()
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
        .map(|sub| format!("git-credential-patrol-{}.1", sub.get_name()))
        .chain(["git-credential-patrol.1".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(file_names(&written), expected);
    assert!(expected.len() > 5, "{expected:?}");

    for page in &written {
        assert!(page.starts_with(&dir), "{}", page.display());
        // -ww turns on every warning; a page with broken markup prints some.
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(page)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("groff (Debian: groff-base) renders the man pages");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            "",
            "groff warnings for {}",
            page.display()
        );
        let rendered = render(page);
        assert_contains!(rendered, "SYNOPSIS");
    }
    let list = render(&dir.join("git-credential-patrol-list.1"));
    assert_contains!(list, "--json");
    let main = render(&dir.join("git-credential-patrol.1"));
    assert_contains!(main, "list");
    assert_contains!(main, "--warn-before");
    assert_lacks!(main, "generate", "the packagers' command is hidden");
}

/// What `man` shows: every page has the sections a manual adds to `--help`,
/// and settings appear only on the page of the program, not on each command.
#[test]
fn man_shows_exit_status_files_environment_and_examples_on_every_page() {
    let env = TestEnv::with_keyring(Keyring::NoBus);
    let (_, written) = generate(&env, "man");
    for page in &written {
        let shown = man(&env, page);
        for heading in [
            "EXIT STATUS",
            "FILES",
            "ENVIRONMENT",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert_contains!(
                shown,
                &format!("\n{heading}\n"),
                "{heading} in {}:\n{shown}",
                page.display()
            );
        }
        for text in [
            "GIT_CREDENTIAL_PATROL_TRACE",
            "NO_COLOR",
            "git-credential-patrol/",
            "Secret Service items",
            "       2      Bad",
            "Failure:",
            "    git",
        ] {
            assert_contains!(shown, text, "{text} in {}:\n{shown}", page.display());
        }
        let name = page.file_name().unwrap().to_string_lossy();
        if name != "git-credential-patrol.1" {
            assert!(!shown.contains("--warn-before"), "{name}:\n{shown}");
        }
    }
    let expiry = man(&env, &env.root().join("man/git-credential-patrol-expiry.1"));
    assert_contains!(
        expiry,
        "git credential-patrol expiry example.com 2020-01-01 --allow-past"
    );
}

/// `man -l PAGE`, formatted for 200 columns with no pager.
fn man(env: &TestEnv, page: &Path) -> String {
    let out = env
        .command("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "200")
        .env("MANPAGER", "cat")
        .env("MAN_KEEP_FORMATTING", "")
        .output()
        .expect("man (Debian: man-db) shows the pages");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// After `cargo install`, the program is in ~/.cargo/bin; `install` puts
/// the pages in ~/.cargo/share/man, where man-db looks for a program in
/// ~/.cargo/bin, so that `git credential-patrol --help` (which git turns
/// into `man git-credential-patrol`) shows the manual.
#[test]
fn install_from_cargo_bin_makes_git_help_show_the_manual() {
    let env = TestEnv::new();
    let bin = env.home().join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(crate::support::env::BIN, bin.join("git-credential-patrol")).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let in_cargo = |program: &str, args: &[&str]| {
        env.command(program)
            .args(args)
            .env("PATH", &path)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap()
    };
    let before = in_cargo("git", &["credential-patrol", "--help"]);
    assert!(!before.status.success(), "no page yet");

    let out = in_cargo("git-credential-patrol", &["install"]);
    let said = text(&out.stdout);
    let pages = env.home().join(".cargo/share/man/man1");
    assert_contains!(
        said,
        &format!(
            "Manual pages: written to {}; `git credential-patrol --help` shows them.",
            pages.display()
        ),
        "{said}{}",
        text(&out.stderr)
    );
    assert!(pages.join("git-credential-patrol-list.1").exists());

    let help = in_cargo("git", &["credential-patrol", "--help"]);
    let shown = text(&help.stdout);
    assert!(help.status.success(), "{}", text(&help.stderr));
    assert_contains!(shown, "EXIT STATUS");
    assert_contains!(shown, "git-credential-patrol-rotate(1)");

    // Installing again finds them and writes nothing new.
    let again = text(&in_cargo("git-credential-patrol", &["install"]).stdout);
    assert_contains!(again, "Manual pages: `git credential-patrol --help` shows ");
}

/// The page as a terminal shows it, without the overstrikes that make bold.
fn render(page: &Path) -> String {
    let out = Command::new("groff")
        .args(["-man", "-Tascii"])
        .arg(page)
        .output()
        .unwrap();
    let mut plain = String::new();
    for c in text(&out.stdout).chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn completions_exist_for_every_shell_and_bash_completes_both_spellings() {
    let env = TestEnv::with_keyring(Keyring::NoBus);
    let (dir, written) = generate(&env, "completions");
    assert_eq!(
        file_names(&written),
        [
            "_git-credential-patrol",
            "_git-credential-patrol.ps1",
            "git-credential-patrol.bash",
            "git-credential-patrol.fish",
        ]
    );
    let bash = dir.join("git-credential-patrol.bash");
    let out = env.command("bash").arg("-n").arg(&bash).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Installed where bash-completion looks for a user's completions, under
    // the name git's completion asks it to load for `git credential-patrol`.
    let user_dir = env.home().join(".local/share/bash-completion/completions");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::copy(&bash, user_dir.join("git-credential-patrol")).unwrap();
    let complete = |line: &str| {
        let out = env
            .command("bash")
            .args(["-c", COMPLETE, "complete", line])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(complete("git credential-patrol li"), "list\n");
    assert_eq!(complete("git credential-patrol list --j"), "--json\n");
    assert_eq!(complete("git -c a.b=c credential-patrol rot"), "rotate\n");
    assert_eq!(
        complete("git credential-patrol expiry github.com never --u"),
        "--user\n"
    );
    assert_eq!(complete("git-credential-patrol ex"), "expiry\n");
    assert_eq!(complete("git-credential-patrol list --j"), "--json\n");
}

/// After the commands that name a credential, the completions offer the
/// stored URLs, and after `--user` the stored accounts: in bash (both
/// spellings) and fish by running them, in zsh by the hooks in its script.
#[test]
fn completions_offer_stored_urls_and_accounts() {
    let env = TestEnv::new();
    env.config("patrol.forge", "none");
    for (host, user) in [
        ("git.example.com", "alice"),
        ("git.example.com", "bob"),
        ("other.example", "carol"),
    ] {
        env.approve(&format!(
            "protocol=https\nhost={host}\nusername={user}\npassword=ghp_TEST{user}\n"
        ));
    }
    let listed = env.patrol(&["stored", "urls"], "");
    assert_eq!(
        text(&listed.stdout),
        "https://git.example.com\nhttps://other.example\n"
    );
    let (dir, _) = generate(&env, "completions");
    let user_dir = env.home().join(".local/share/bash-completion/completions");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::copy(
        dir.join("git-credential-patrol.bash"),
        user_dir.join("git-credential-patrol"),
    )
    .unwrap();
    let bash = |line: &str| {
        let out = env
            .command("bash")
            .args(["-c", COMPLETE, "complete", line])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let urls = "https://git.example.com\nhttps://other.example\n";
    for command in ["rotate", "erase", "token", "expiry", "check"] {
        assert_eq!(
            bash(&format!("git credential-patrol {command} ")),
            urls,
            "{command}"
        );
        assert_eq!(
            bash(&format!("git-credential-patrol {command} ")),
            urls,
            "{command}"
        );
    }
    // Bash replaces what follows the colon, so that is what it is given.
    assert_eq!(
        bash("git-credential-patrol token https://o"),
        "//other.example\n"
    );
    assert_eq!(bash("git credential-patrol rotate --manual h"), urls);
    assert_eq!(
        bash("git credential-patrol erase https://git.example.com --user "),
        "alice\nbob\ncarol\n"
    );
    assert_eq!(
        bash("git-credential-patrol token git.example.com --user b"),
        "bob\n"
    );
    assert_lacks!(
        bash("git credential-patrol expiry https://other.example "),
        "https://",
        "a date comes second"
    );
    assert_eq!(bash("git credential-patrol list --j"), "--json\n");

    let fish = env
        .command("fish")
        .arg("-c")
        .arg(format!(
            "source {}; complete -C 'git-credential-patrol rotate '; \
             complete -C 'git-credential-patrol token x --user '",
            dir.join("git-credential-patrol.fish").display()
        ))
        .output()
        .expect("fish runs the fish completions");
    assert!(fish.status.success(), "{}", text(&fish.stderr));
    let offered = text(&fish.stdout);
    for name in [
        "https://git.example.com",
        "https://other.example",
        "alice",
        "bob",
        "carol",
    ] {
        assert!(
            offered.lines().any(|l| l.starts_with(name)),
            "{name}: {offered}"
        );
    }

    let zsh = dir.join("_git-credential-patrol");
    let out = env
        .command("zsh")
        .arg("-n")
        .arg(&zsh)
        .output()
        .expect("zsh checks the zsh completions");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let script = std::fs::read_to_string(&zsh).unwrap();
    assert!(script.starts_with("#compdef git-credential-patrol\n"));
    assert_eq!(
        script.matches(":_git_credential_patrol_urls'").count(),
        5,
        "{script}"
    );
    assert_eq!(
        script.matches(":_git_credential_patrol_users'").count(),
        5,
        "{script}"
    );
}

/// Completes the line in `$1` the way bash would at a prompt: with the
/// system's bash-completion (which loads git's completion and ours on
/// demand) and whatever function is registered for the first word. Prints
/// one candidate a line.
const COMPLETE: &str = r#"
source /usr/share/bash-completion/bash_completion || exit 1
COMP_LINE=$1
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_completion_loader "${COMP_WORDS[0]}"
spec=$(complete -p "${COMP_WORDS[0]}") || exit 1
function=${spec##*-F }
function=${function%% *}
"$function" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;

#[test]
fn version_names_the_commit_when_built_from_a_checkout() {
    let env = TestEnv::with_keyring(Keyring::NoBus);
    let out = env.patrol(&["--version"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let version = text(&out.stdout);
    let plain = format!("git-credential-patrol {}", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&plain), "{version}");

    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(source)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| text(&out.stdout).trim().to_owned())
    };
    let in_checkout = git(&["rev-parse", "--show-toplevel"])
        .is_some_and(|top| Path::new(&top).canonicalize().ok() == source.canonicalize().ok());
    let expected = match git(&["rev-parse", "--short=10", "HEAD"]) {
        Some(hash) if in_checkout => format!("{plain} ({hash})\n"),
        _ => format!("{plain}\n"),
    };
    assert_eq!(version, expected);
}
