"""Every command that README.md and the how-to page tell a reader to run is checked.

The test collects the shell commands of both files (lines of their ``bash`` code blocks, and
inline code that starts with ``make``, ``.venv/bin/``, ``python`` or ``TNN_BUDGET=``) and
checks each one as far as it can without side effects: a make target exists and its recipe
resolves (``make -n``), a script answers ``--help``, a program of the environment answers
``--version``. A command for which no check is known fails the test, so a command added to
the docs is added here too. The live check of ``make lab`` is tests/test_lab.py.
"""

import re
import shlex
import subprocess

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "chapters" / "how_to_use.md"]
STARTS = ("make", ".venv/bin/", "python", "TNN_BUDGET=")


def documented_commands():
    commands = set()
    for doc in DOCS:
        text = doc.read_text()
        for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, re.S):
            for line in block.splitlines():
                line = line.split("  #")[0].split(" # ")[0].strip()
                if line and not line.startswith("#"):
                    commands.add(line)
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for code in re.findall(r"`([^`\n]+)`", prose):
            if code.startswith(STARTS):
                commands.add(code.strip())
    return sorted(commands)


def _split(command):
    words = shlex.split(command)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def _run(args, env=None, timeout=120):
    import os
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def check(command):
    """Check one command without side effects; return a description of what was checked."""
    env, words = _split(command)
    assert set(env) <= {"TNN_BUDGET"}, f"unexpected variables in {command!r}"
    if "TNN_BUDGET" in env:
        assert env["TNN_BUDGET"] in ("smoke", "default", "full"), command
    if not words:  # a setting named in the prose, e.g. `TNN_BUDGET=full`
        return f"{command}: a valid setting"
    if words[0] == "make":
        targets = [w for w in words[1:] if "=" not in w]
        assert targets, f"{command!r}: no target"
        makefile = (ROOT / "Makefile").read_text()
        for target in targets:
            assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"no make target {target!r}"
        out = _run(["make", "-n", *words[1:]], env)
        assert out.returncode == 0, f"make -n {' '.join(words[1:])}: {out.stderr}"
        return f"make -n {' '.join(words[1:])}"
    program = words[0].removeprefix(".venv/bin/")
    python = ROOT / ".venv" / "bin" / "python"
    if program == "python" and len(words) > 1 and words[1].startswith("scripts/"):
        script = ROOT / words[1]
        assert script.is_file(), f"{command!r}: no {words[1]}"
        out = _run([str(python), str(script), "--help"], env)
        assert out.returncode == 0 and "usage" in out.stdout.lower(), f"{words[1]} --help: {out.stderr}"
        return f"{words[1]} --help"
    if program == "python" and words[1:3] == ["-m", "utils.grade"]:
        out = _run([str(python), "-m", "utils.grade", "--help"], env)
        assert out.returncode == 0 and "usage" in out.stdout.lower(), f"utils.grade --help: {out.stderr}"
        for option in (w.split("=")[0] for w in words[3:] if w.startswith("--")):
            assert option in out.stdout, f"{command!r}: utils.grade has no option {option}"
        return "python -m utils.grade --help (and each option documented)"
    if program in ("jupyter", "jupyter-book", "pytest"):
        exe = ROOT / ".venv" / "bin" / program
        assert exe.is_file(), f"{command!r}: {exe} is not in the environment"
        args = [str(exe), *words[1:2], "--version"] if program == "jupyter" else [str(exe), "--version"]
        out = _run(args, env)
        assert out.returncode == 0, f"{' '.join(args)}: {out.stderr}"
        return " ".join(args[1:])
    raise AssertionError(f"no check is known for the documented command {command!r}: "
                         "add one to tests/test_docs_commands.py")


COMMANDS = documented_commands()


def test_the_docs_name_the_commands_a_reader_needs():
    joined = "\n".join(COMMANDS)
    for needed in ("make book", "make test", "make lab", "scripts/execute_notebooks.py"):
        assert needed in joined, needed


@pytest.mark.parametrize("command", COMMANDS)
def test_documented_command(command):
    check(command)


def test_an_unknown_command_fails_the_check():
    with pytest.raises(AssertionError, match="no check is known"):
        check("rm -rf build")
    with pytest.raises(AssertionError, match="no make target"):
        check("make no-such-target")
