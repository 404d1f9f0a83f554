import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hashing.keys import create_key_file
from reports.packages import SIGNER_FILE, load_signer, open_delivery
from reports.recipients import create_age_keys, pin_recipients
from sample_data.generate import GeneratedRound, RoundSpec, generate_round

WACHTLIJST = [sys.executable, "-m", "flows.cli"]

ROUND_FIXTURES = frozenset({"exact_round", "dirty_round"})
"""Session fixtures that run a whole round through the CLI in a fresh process."""
E2E_MODULES = frozenset({
    "test_cli.py", "test_crash_safety.py", "test_dask_runner.py", "test_hostile_round.py", "test_install.py",
    "test_key_rotation.py", "test_privacy.py", "test_rerun.py", "test_round_end_to_end.py",
    "test_rounds_over_time.py", "test_serve.py", "test_two_stage.py",
})  # fmt: skip
"""Modules whose tests run rounds or servers in fresh processes."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests that run whole rounds in fresh processes ``e2e`` and tests that drive Chromium
    ``browser``, so that ``pytest -m "not e2e and not browser and not slow"`` is the fast part."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        if fixtures & ROUND_FIXTURES or item.path.name in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)


@dataclass
class RoundRun:
    """A generated round that was run through the CLI."""

    generated: GeneratedRound
    workspace: Path
    output: Path
    round_id: str
    key_file: Path
    provider_keys: Path
    result: subprocess.CompletedProcess[str]

    @property
    def round_dir(self) -> Path:
        return self.output / self.round_id

    def delivered(self, agb: str) -> dict[str, bytes]:
        """Return the files of ``agb``'s package, opened and verified as the provider would."""
        return provider_files(self.round_dir, agb, self.provider_keys)


def provider_files(round_dir: Path, agb: str, provider_keys: Path) -> dict[str, bytes]:
    """Return {file name: plaintext} of a provider's delivery, its signature checked."""
    providers = round_dir / "providers"
    signer = load_signer(providers / SIGNER_FILE)
    return open_delivery(providers / agb, provider_keys / f"{agb}.key", signer, expected_round=round_dir.name).files


def cli(
    *args: str | Path, env: dict[str, str] | None = None, own_session: bool = False, fault_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the wachtlijst CLI in a fresh process, as an operator would (``own_session``: in a
    process group of its own, so that a crash test can kill it with everything it started;
    ``fault_at``: with a fault hook installed that kills it at that fault point)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WACHTLIJST_"))}
    environment.update(env or {})
    command = [sys.executable, "-m", "tests.flows.crash_cli", fault_at] if fault_at else WACHTLIJST
    return subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
        start_new_session=own_session,
    )


def run_generated(
    workspace: Path, spec: RoundSpec, *, keyless: int = 2, output_name: str = "output", engine: str = "auto"
) -> RoundRun:
    """Generate a round into ``workspace`` (once), make the keys, and run it through the CLI on
    ``engine`` into ``workspace/output_name``."""
    generated = generate_round(workspace, spec)
    key_file = workspace / "keys" / "ttp.key"
    if not key_file.exists():
        create_key_file(key_file)
    provider_keys = workspace / "provider_keys"
    recipients = workspace / "recipients"
    recipients.mkdir(exist_ok=True)
    for agb in generated.providers[: len(generated.providers) - keyless]:
        if not (provider_keys / f"{agb}.pub").exists():
            public_path, _ = create_age_keys(agb, provider_keys)
            shutil.copyfile(public_path, recipients / public_path.name)
    pin_recipients(recipients)
    output = workspace / output_name
    round_id = "2026-11"
    result = cli(
        "run",
        "--input",
        generated.input_dir,
        "--output",
        output,
        "--round",
        round_id,
        "--config",
        generated.config_file,
        "--key-file",
        key_file,
        "--recipients",
        recipients,
        "--engine",
        engine,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return RoundRun(generated, workspace, output, round_id, key_file, provider_keys, result)


@pytest.fixture(scope="session")
def exact_round(tmp_path_factory: pytest.TempPathFactory) -> RoundRun:
    """A round where every row has a valid BSN: outputs must equal the truth exactly."""
    spec = RoundSpec(entries=4000, missing_bsn_share=0.0, invalid_bsn_share=0.0, seed=7)
    return run_generated(tmp_path_factory.mktemp("exact"), spec)


@pytest.fixture(scope="session")
def dirty_round(tmp_path_factory: pytest.TempPathFactory) -> RoundRun:
    """A round with missing and invalid BSNs, bad rows and bad files, run as a Prefect flow (on a
    temporary server), so that the privacy tests scan Prefect's database too."""
    return run_generated(tmp_path_factory.mktemp("dirty"), RoundSpec(entries=3000, seed=11), engine="prefect")


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@dataclass
class Browser:
    """A headless Chromium that opens local HTML files and reports what the page did."""

    driver: Any

    def open(self, page: Path) -> None:
        """Load ``page``; one retry, as Chromium's renderer now and then misses the first message."""
        from selenium.common.exceptions import TimeoutException

        for attempt in range(2):
            self.driver.get_log("browser")
            self.driver.get_log("performance")
            try:
                self.driver.get(page.resolve().as_uri())
                return
            except TimeoutException:
                if attempt:
                    raise

    def console_errors(self) -> list[str]:
        """Return the console messages of level SEVERE since the page was opened."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def requested_urls(self) -> list[str]:
        """Return every URL the page asked for since it was opened (from the DevTools log)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def screenshot(self, name: str) -> Path:
        """Save a full-page PNG under test-artifacts/ and return its path."""
        from selenium.common.exceptions import TimeoutException

        try:
            shot = self.driver.execute_cdp_cmd(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
            )
        except TimeoutException:  # the renderer now and then misses a message under load: once more
            shot = self.driver.execute_cdp_cmd(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
            )
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium through chromedriver (Debian packages). Skipped when they are not
    installed, unless WACHTLIJST_REQUIRE_BROWSER=1 (set by .ci/run), which makes it fail."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("WACHTLIJST_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium and chromedriver are required (apt-get install chromium chromium-driver)")
        pytest.skip("chromium/chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1200,900", "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows", "--disable-extensions",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
