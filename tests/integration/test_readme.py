"""The README's shell and Python snippets, run as written, in order, in one fresh shell.

A newcomer copies the README into a terminal line by line; so does this test, against a
real server: bash in a pseudo-terminal (so prompts ask for passwords and confirmations as
they would, and are answered), from a fresh folder holding only the project's `.venv` and
`examples/`, with a fresh home. `LFP_URL` names the test's server, as the README tells a
user whose server listens on another port; the server's settings are exported too, as they
are for an operator in the folder `make serve` runs in. A snippet preceded by a line
`<!-- readme: not run (reason) -->` is shown to users but not run (it starts servers).
Any failing command ends the shell (`set -e`) and the test, with the transcript.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from tests.helpers import PASSWORD, Server

ROOT = Path(__file__).resolve().parents[2]
NOT_RUN = re.compile(r"<!-- readme: not run \((?P<reason>[^)]+)\) -->")
FENCE = re.compile(r"^```(?P<language>\w*)\s*$")
PS1, PS2 = "README-PS1> ", "README-PS2> "
# What the shell may show after a line is typed, and what the test answers.
PROMPTS: list[
    re.Pattern[str] | re.Pattern[bytes] | str | bytes | type[pexpect.EOF] | type[pexpect.TIMEOUT]
] = [
    re.escape(PS1),
    re.escape(PS2),
    r"(?i)password: ",
    r"\[y/N\]: ",
    pexpect.EOF,
]


@dataclass(frozen=True)
class Snippet:
    """One fenced block of the README: its language, text and first line number."""

    language: str
    text: str
    line: int


def readme_snippets(text: str) -> list[Snippet]:
    """The `sh` and `python` blocks of `text` that are meant to run, in order."""
    found: list[Snippet] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        fence = FENCE.match(lines[number])
        if not fence:
            number += 1
            continue
        end = next(i for i in range(number + 1, len(lines)) if lines[i].startswith("```"))
        skipped = number > 0 and NOT_RUN.search(lines[number - 1])
        if fence["language"] in ("sh", "python") and not skipped:
            body = "\n".join(lines[number + 1 : end])
            found.append(Snippet(fence["language"], body, number + 2))
        number = end + 1
    return found


class Terminal:
    """bash in a pseudo-terminal, typed into line by line, its prompts answered."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.shell = pexpect.spawn(
            "bash",
            ["--norc", "--noprofile"],
            cwd=str(folder),
            env=env,
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(50, 200),
            timeout=600,
        )
        self.transcript: list[str] = []
        # Quoted in two parts, so that the echo of this line is not taken for the prompt.
        split = len(PS1) // 2
        prompts = f"PS1='{PS1[:split]}''{PS1[split:]}' PS2='{PS2[:split]}''{PS2[split:]}'"
        self.type(f"export {prompts}; set -e -o pipefail")

    def type(self, line: str) -> None:
        """Type `line` and Enter, answering prompts, until the shell waits for more."""
        self.shell.sendline(line)
        while True:
            which = self.shell.expect(PROMPTS)
            self.transcript.append(f"{self.shell.before}{self.shell.after}")
            if which in (0, 1):
                return
            if which == 2:
                self.shell.sendline(PASSWORD)
            elif which == 3:
                self.shell.sendline("y")
            else:
                raise AssertionError(f"the shell exited after {line!r}:\n{self.log()}")

    def run(self, snippet: Snippet) -> None:
        """Type a shell snippet, or run a Python one from a file beside the others."""
        if snippet.language == "python":
            script = self.folder / f"readme_line_{snippet.line}.py"
            script.write_text(snippet.text + "\n")
            self.type(f"python {script.name}")
            return
        for line in snippet.text.splitlines():
            self.type(line)

    def log(self) -> str:
        """The last part of what the terminal showed."""
        return "".join(self.transcript)[-6000:]

    def close(self) -> None:
        """End the shell."""
        self.shell.close(force=True)


def test_every_skipped_snippet_says_why() -> None:
    text = (ROOT / "README.md").read_text()
    marks = re.findall(r"<!-- readme: not run[^>]*-->", text)
    assert all(NOT_RUN.fullmatch(mark) for mark in marks), marks
    assert len(readme_snippets(text)) >= 8  # the tour, processing, catalogues, curl, tus, ops


@pytest.fixture
def readme_server(start_server: Callable[..., Server], backend: str) -> Server:
    """A fresh server of the README's own, on each database."""
    return start_server(backend)


def test_readme_snippets_run_as_written(readme_server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "newcomer"
    folder.mkdir()
    (folder / ".venv").symlink_to(ROOT / ".venv")
    (folder / "examples").symlink_to(ROOT / "examples")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LFP_", "VIRTUAL_ENV", "PYTEST", "COV_"))
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    env |= {
        **readme_server.env,
        "LFP_DATA_DIR": str(readme_server.data_dir),
        "LFP_URL": readme_server.url,
        "HOME": str(home),
        "TERM": "xterm",
    }
    terminal = Terminal(folder, env)
    try:
        for snippet in readme_snippets((ROOT / "README.md").read_text()):
            try:
                terminal.run(snippet)
            except (AssertionError, pexpect.TIMEOUT) as exc:
                pytest.fail(f"README line {snippet.line}: {exc}\n{terminal.log()}")
    finally:
        terminal.close()
