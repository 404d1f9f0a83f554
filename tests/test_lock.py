"""requirements.lock pins every dependency of pyproject.toml (with the test and bench extras) to a
version its specifier allows: a dependency changed without running scripts/lock.sh fails here."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def locked_versions() -> dict[str, str]:
    """Return the lock's pins by canonical package name."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(\[[^]]*\])?==([^\s;]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(3)
    return pins


def test_every_dependency_is_locked_within_its_specifier():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"],
              *project["optional-dependencies"]["bench"]]  # fmt: skip
    pins = locked_versions()
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name} {pins[name]} in requirements.lock is outside {requirement.specifier}: run scripts/lock.sh"
        )


def test_the_check_sees_a_pin_outside_its_specifier():
    assert not Requirement("duckdb>=2.0,<3").specifier.contains("1.4.0")
    assert locked_versions(), "the lock file has pins"
