"""run.sh: says what it installs, asks before `sudo apt-get` on a terminal, honours
TMSNAV_NO_APT / TMSNAV_ASSUME_YES / TMSNAV_DRY_RUN, and installs the extras each command needs.

The script runs for real from a copy in a temporary folder; dpkg-query, id, sudo, apt-get and
xvfb-run are fakes on PATH and the venv's python is a fake, each logging its arguments, so the
test sees exactly which commands would have touched the system.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAST_STDOUT = ""
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="run.sh needs bash")

_FAKES = {
    "dpkg-query": 'for p in $FAKE_MISSING; do\n'
                  '  [ "$p" = "${@: -1}" ] && { echo -n "deinstall ok config-files"; exit 0; }\n'
                  'done\n'
                  'echo -n "install ok installed"\n',
    "id": 'if [ "$1" = -u ]; then echo "$FAKE_UID"; else PATH=/usr/bin:/bin exec id "$@"; fi\n',
    "sudo": 'echo "sudo $*" >> "$FAKE_LOG"; exec "$@"\n',
    "apt-get": 'echo "apt-get $*" >> "$FAKE_LOG"\n',
    "xvfb-run": 'echo "xvfb-run $*" >> "$FAKE_LOG"\n',
}


@pytest.fixture
def sandbox(tmp_path):
    """A copy of run.sh with a fake venv, fake system tools on PATH, and a command log."""
    shutil.copy(ROOT / "run.sh", tmp_path / "run.sh")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    for name, body in _FAKES.items():
        (fake_bin / name).write_text("#!/usr/bin/env bash\n" + body)
        (fake_bin / name).chmod(0o755)
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text('#!/usr/bin/env bash\necho "python $*" >> "$FAKE_LOG"\n')
    (venv_bin / "python").chmod(0o755)
    return tmp_path


def run_sh(sandbox: Path, *args: str, uid: int = 1000, missing: str = "xvfb libgl1",
           tty_answer: str | None = None, **env_extra: str) -> tuple[int, str, list[str]]:
    """Exit code, stderr and the logged commands of ``bash run.sh ARGS`` (stdout: LAST_STDOUT)."""
    global LAST_STDOUT
    log = sandbox / "commands.log"
    log.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "DISPLAY", "WAYLAND_DISPLAY", "TMSNAV_NO_APT", "TMSNAV_ASSUME_YES",
                        "TMSNAV_DRY_RUN")}
    env.update(PATH=f"{sandbox / 'fakebin'}:{env['PATH']}", FAKE_LOG=str(log), FAKE_UID=str(uid),
               FAKE_MISSING=missing, **env_extra)
    if tty_answer is None:
        proc = subprocess.run(["bash", str(sandbox / "run.sh"), *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=env, timeout=60)
        code, err = proc.returncode, proc.stderr
    else:                                    # stdin is a terminal: the interactive path
        import pty                           # POSIX only, like run.sh itself

        master, slave = pty.openpty()
        try:
            os.write(master, tty_answer.encode() + b"\n")
            proc = subprocess.run(["bash", str(sandbox / "run.sh"), *args], stdin=slave,
                                  capture_output=True, text=True, env=env, timeout=60)
        finally:
            os.close(slave)
            os.close(master)
        code, err = proc.returncode, proc.stderr
    LAST_STDOUT = proc.stdout
    commands = log.read_text().splitlines() if log.exists() else []
    return code, err, commands


def apt_installs(commands: list[str]) -> list[str]:
    return [c for c in commands if "apt-get install" in c and not c.startswith("sudo ")]


def test_lists_the_packages_and_installs_as_root_without_asking(sandbox):
    code, err, commands = run_sh(sandbox, "test", uid=0, tty_answer="n")
    assert code == 0, err
    assert "missing Debian packages" in err and "xvfb libgl1" in err
    assert "install them now" not in err                       # root: no prompt, as before
    assert apt_installs(commands) == ["apt-get install -y -qq --no-install-recommends xvfb libgl1"]
    assert not any(c.startswith("sudo") for c in commands)


def test_non_interactive_user_proceeds_with_sudo_as_in_ci(sandbox):
    code, err, commands = run_sh(sandbox, "test")
    assert code == 0, err
    assert "sudo apt-get install -y -qq --no-install-recommends xvfb libgl1" in commands


def test_terminal_user_is_asked_and_no_means_nothing_installed(sandbox):
    code, err, commands = run_sh(sandbox, "demo", tty_answer="n")
    assert code == 1
    assert "install them now with sudo apt-get? [y/N]" in err
    assert "sudo apt-get install -y --no-install-recommends xvfb libgl1" in err   # what to run
    assert not any("apt-get" in c for c in commands)
    assert not any(c.startswith("python") for c in commands)   # stopped before the venv


def test_terminal_user_saying_yes_gets_sudo_apt_get(sandbox):
    code, err, commands = run_sh(sandbox, "demo", tty_answer="y")
    assert code == 0, err
    assert "install them now" in err
    assert "sudo apt-get install -y -qq --no-install-recommends xvfb libgl1" in commands


def test_empty_answer_defaults_to_no(sandbox):
    code, _, commands = run_sh(sandbox, "demo", tty_answer="")
    assert code == 1 and not any("apt-get" in c for c in commands)


def test_assume_yes_and_ci_skip_the_question(sandbox):
    for env in ({"TMSNAV_ASSUME_YES": "1"}, {"CI": "true"}):
        code, err, commands = run_sh(sandbox, "demo", tty_answer="n", **env)
        assert code == 0, (env, err)
        assert "install them now" not in err
        assert "sudo apt-get install -y -qq --no-install-recommends xvfb libgl1" in commands


def test_no_apt_prints_the_command_and_goes_on(sandbox):
    code, err, commands = run_sh(sandbox, "test", tty_answer="y", TMSNAV_NO_APT="1")
    assert code == 0, err
    assert "sudo apt-get update && sudo apt-get install -y --no-install-recommends xvfb libgl1" in err
    assert not any("apt-get" in c for c in commands)
    assert any(c.startswith("xvfb-run") and "pytest" in c for c in commands)


def test_nothing_missing_means_no_apt_and_no_question(sandbox):
    code, err, commands = run_sh(sandbox, "demo", missing="", tty_answer="n")
    assert code == 0, err
    assert "missing Debian packages" not in err and "install them now" not in err
    assert not any("apt-get" in c for c in commands)


def test_each_command_installs_the_extras_it_needs(sandbox):
    expected = {"test": ("-e .[test,bench]", ".tmsnav-installed-test,bench"),
                "bench": ("-e .[bench]", ".tmsnav-installed-bench"),
                "demo": ("-e .", ".tmsnav-installed")}
    for command, (pip_target, stamp) in expected.items():
        args = [command, "tracking"] if command == "bench" else [command]
        code, err, commands = run_sh(sandbox, *args, missing="")
        assert code == 0, err
        installs = [c for c in commands if c.startswith("python -m pip install -q -e")]
        assert installs == [f"python -m pip install -q {pip_target}"], (command, commands)
        assert (sandbox / ".venv" / stamp).exists()
        assert run_sh(sandbox, *args, missing="")[2] == [commands[-1]]   # installed once only


def test_dry_run_prints_commands_and_runs_none(sandbox):
    code, err, commands = run_sh(sandbox, "test", missing="xvfb", TMSNAV_DRY_RUN="1")
    assert code == 0, err
    assert commands == []
    assert "+ sudo apt-get install -y -qq --no-install-recommends xvfb" in LAST_STDOUT
    assert "+ .venv/bin/python -m pip install -q -e .[test,bench]" in LAST_STDOUT
    assert "xvfb-run -a" in LAST_STDOUT and "pytest -q" in LAST_STDOUT


def test_postgresql_is_installed_for_tests_and_benchmarks_only(sandbox):
    """The clinic-database tests need PostgreSQL's server; a demo user should not get one."""
    _, _, demo = run_sh(sandbox, "demo", uid=0, missing="xvfb postgresql")
    assert apt_installs(demo) == ["apt-get install -y -qq --no-install-recommends xvfb"]
    for command in ("test", "bench"):
        args = (command, "records") if command == "bench" else (command,)
        code, err, commands = run_sh(sandbox, *args, uid=0, missing="xvfb postgresql")
        assert code == 0, err
        assert apt_installs(commands) == ["apt-get install -y -qq --no-install-recommends xvfb postgresql"]
