"""The production install: its own environment, runtime dependencies only, a copy (not the
checkout) with its SQL and templates, and the command on the PATH that runs a whole round."""

import os
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_production_install_puts_a_working_wachtlijst_on_the_path(tmp_path: Path):
    prefix = tmp_path / "prefix"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WACHTLIJST_", "VIRTUAL_ENV"))}
    installed = subprocess.run(
        ["bash", str(REPOSITORY / "scripts" / "install-production.sh"), "--prefix", str(prefix)],
        capture_output=True, text=True, env=environment, timeout=900, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    command = prefix / "bin" / "wachtlijst"
    assert command.is_symlink() and "not on your PATH" in installed.stdout
    python = prefix / "lib" / "wachtlijst" / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u, reports; print(reports.__file__); "
                            "print([m for m in ('pytest', 'hypothesis', 'selenium') if u.find_spec(m)])"],
        capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120, check=True,
    )  # fmt: skip
    location, test_tools = probe.stdout.splitlines()
    assert "site-packages" in location and str(REPOSITORY) not in location
    assert test_tools == "[]", "a server install carries no test tools"
    demo = subprocess.run(
        ["wachtlijst", "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False,
        env={**environment, "PATH": f"{prefix / 'bin'}:{environment.get('PATH', '')}"},
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    packages = list((tmp_path / "demo" / "output" / "2026-11" / "providers").glob("*/2026-11.age"))
    assert packages, "the installed copy delivered provider packages"
    assert (tmp_path / "demo" / "provider_view").is_dir()
