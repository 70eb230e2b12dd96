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

use crate::cli::{Cli, GenerateArgs, Generated};

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
    _git__credential__patrol git-credential-patrol "$cur" "${COMP_WORDS[COMP_CWORD-1]}"
    compopt +o nospace 2>/dev/null
    return 0
}
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
fn man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    fn write(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> io::Result<()> {
        let man = clap_mangen::Man::new(cmd.clone()).source(format!("{BIN} {}", crate::VERSION));
        written.push(man.generate_to(dir)?);
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

/// `git-credential-patrol.bash`, `_git-credential-patrol` (zsh),
/// `git-credential-patrol.fish` and `_git-credential-patrol.ps1`.
fn completions(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut cmd = Cli::command();
    let mut written = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, BIN, &mut script);
        if shell == Shell::Bash {
            script = repair_bash(&String::from_utf8_lossy(&script)).into_bytes();
            script.extend_from_slice(BASH_GIT_SUBCOMMAND.as_bytes());
        }
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
