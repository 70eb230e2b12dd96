# Homebrew formula. The url and sha256 are filled in for each release (see
# packaging/README.md); the sha256 below is a placeholder.
class GitCredentialPatrol < Formula
  desc "Git credential helper: tokens in the OS keychain, warnings before they expire"
  homepage "https://github.com/git-credential-patrol/git-credential-patrol"
  url "https://github.com/git-credential-patrol/git-credential-patrol/releases/download/v0.1.0/git-credential-patrol-0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/git-credential-patrol/git-credential-patrol.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args

    # Man pages and completions come from the program's own definitions.
    system bin/"git-credential-patrol", "generate", "man", buildpath/"generated/man"
    system bin/"git-credential-patrol", "generate", "completions", buildpath/"generated/completions"
    man1.install Dir[buildpath/"generated/man/*.1"]
    completions = buildpath/"generated/completions"
    bash_completion.install completions/"git-credential-patrol.bash" => "git-credential-patrol"
    zsh_completion.install completions/"_git-credential-patrol"
    fish_completion.install completions/"git-credential-patrol.fish"
  end

  def caveats
    <<~EOS
      Enable the helper for your user with:
        git credential-patrol install
      Tokens are kept in your login keychain.
    EOS
  end

  test do
    assert_match "git-credential-patrol #{version}", shell_output("#{bin}/git-credential-patrol --version")
    assert_match(/^version 0$/, pipe_output("#{bin}/git-credential-patrol capability", ""))
    assert_path_exists man1/"git-credential-patrol.1"
    assert_path_exists bash_completion/"git-credential-patrol"
  end
end
