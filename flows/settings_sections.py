"""The sections of the settings (``[paths]``, ``[limits]``, ``[linkage]``, ...), each a frozen,
validated model; :mod:`flows.settings` assembles them into the one ``Settings``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.limits import DEFAULT_FIELD_CHARS, ReadLimits
from linkage.store import StoreResources, machine_resources, round_resources


class ProviderSettings(BaseModel):
    """What the configuration knows about one provider (organisation AGB code)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    column_aliases: dict[str, str] = Field(default_factory=dict)


class PathSettings(BaseModel):
    """Folders the TTP uses besides a round's input and output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipients: Path | None = None
    work_dir: Path | None = None
    prefect_home: Path | None = None
    audit_log: Path | None = None
    input_archive: Path | None = None
    archive_public_key: Path | None = None
    inbox: Path | None = None
    registry: Path | None = None
    """The provider registry (deelnemers), a CSV file; see docs/extract-format.md, version 2."""

    @model_validator(mode="after")
    def _archive_needs_its_key(self) -> PathSettings:
        if (self.input_archive is None) != (self.archive_public_key is None):
            raise ValueError("input_archive and archive_public_key go together: set both or neither")
        return self


class ScheduleSettings(BaseModel):
    """When ``wachtlijst serve`` runs a round: a cron line read in a time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron: str = "0 3 1 * *"
    timezone: str = "Europe/Amsterdam"
    round_format: str = "%Y-%m"

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"cron {value!r} must have five fields: minute hour day month weekday")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("round_format")
    @classmethod
    def _dated_round(cls, value: str) -> str:
        if "%Y" not in value or any(c in value for c in "/\\ "):
            raise ValueError("round_format must contain %Y and no slash or space (e.g. %Y-%m)")
        return value


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
"""An alert webhook must be on this machine: a failed round's alert never leaves it unencrypted."""


class ReportSettings(BaseModel):
    """What the insurer reports show besides the provider tables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    insurer_names: dict[str, str] = Field(default_factory=dict)
    """UZOVI code (4 digits) -> insurer name, shown in each insurer's report (the TTP keeps this
    list; without a name a report shows the code)."""
    categories_per_sector: int = Field(default=15, ge=1, le=100)
    """The national table by sector and zorgvraag shows at most this many zorgvraag codes per
    sector by name (the largest); the rest count as 'overig'."""
    category_min_providers: int = Field(default=2, ge=1, le=1000)
    """A zorgvraag code is shown by name only when at least this many providers delivered it, so
    one provider's free text never reaches an insurer."""

    @field_validator("insurer_names")
    @classmethod
    def _uzovi_codes(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(code for code in value if not (len(code) == 4 and code.isascii() and code.isdigit()))
        if bad:
            raise ValueError(f"reports.insurer_names: {', '.join(bad)} is not a 4-digit UZOVI code")
        empty = sorted(code for code, name in value.items() if not name.strip() or len(name) > 100)
        if empty:
            raise ValueError(f"reports.insurer_names: the name of {', '.join(empty)} is empty or over 100 characters")
        return value


class AlertSettings(BaseModel):
    """Who hears of a failed scheduled round: a command (run with the alert as JSON on standard
    input) and/or a webhook on loopback (the alert POSTed as JSON), for example a local relay
    that pages the operator. The alert holds the round, the state and the error's type (and a
    RoundFailed message, which this project writes), never data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: list[str] | None = None
    webhook: str | None = None
    timeout_seconds: float = Field(default=10, gt=0, le=300)

    @field_validator("command")
    @classmethod
    def _a_program(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or not value[0].strip()):
            raise ValueError('alerts.command must name a program, e.g. ["/usr/local/bin/meld", "wachtlijst"]')
        return value

    @field_validator("webhook")
    @classmethod
    def _on_loopback(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parsed = urlsplit(value)
        if parsed.scheme not in {"http", "https"} or parsed.hostname not in LOOPBACK_HOSTS:
            raise ValueError(
                f"alerts.webhook {value!r} must be an http(s) URL on loopback (127.0.0.1, ::1 or localhost)"
            )
        return value


class RunnerSettings(BaseModel):
    """Where the round's mapped tasks (reading, validating and pseudonymising each file) run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["threads", "dask"] = "threads"
    threads: int = Field(default=2, ge=1, le=256)
    dask_address: str | None = None
    """Scheduler of a running Dask cluster (tcp://host:8786); None with kind dask: a local cluster."""
    dask_workers: int = Field(default=2, ge=1, le=1024)
    """Workers of the local cluster started when no address is given."""

    @model_validator(mode="after")
    def _address_for_dask(self) -> RunnerSettings:
        if self.dask_address is not None and self.kind != "dask":
            raise ValueError("dask_address is set but kind is not dask")
        return self


class LimitSettings(BaseModel):
    """What one delivered file may cost (checked before decoding), and the reader's worker
    process: its memory limit and time per file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_file_bytes: int = Field(default=256 << 20, ge=1)
    max_rows: int = Field(default=1_000_000, ge=1)
    max_columns: int = Field(default=200, ge=8)
    max_cells: int = Field(default=25_000_000, ge=8)
    max_uncompressed_bytes: int = Field(default=1 << 30, ge=1)
    field_chars: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_FIELD_CHARS))
    isolate_readers: bool = True
    """Read each file in a worker process with a memory limit (false: in the round's process)."""
    reader_memory_mb: int = Field(default=3072, ge=512)
    reader_seconds_per_file: float = Field(default=600, gt=0)

    @field_validator("field_chars", mode="before")
    @classmethod
    def _over_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(DEFAULT_FIELD_CHARS))
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(unknown)}")
        return {**DEFAULT_FIELD_CHARS, **value}

    @field_validator("field_chars")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = sorted(column for column, chars in value.items() if chars < 1)
        if bad:
            raise ValueError(f"a field limit must be at least 1 character for {', '.join(bad)}")
        return value

    def read_limits(self) -> ReadLimits:
        """Return the limits the reader checks."""
        return ReadLimits(
            max_file_bytes=self.max_file_bytes, max_rows=self.max_rows, max_columns=self.max_columns,
            max_cells=self.max_cells, max_uncompressed_bytes=self.max_uncompressed_bytes,
            field_chars=dict(self.field_chars),
        )  # fmt: skip


class LinkageSettings(BaseModel):
    """Thresholds of probabilistic linkage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    link_threshold: float = Field(default=0.5, gt=0, lt=1)
    review_threshold: float = Field(default=0.2, gt=0, lt=1)
    second_link_threshold: float = Field(default=0.99, gt=0, lt=1)
    """A pair the one-to-one matching between two providers leaves out is still a link at this
    probability of its own (an internal duplicate who waits elsewhere too)."""
    rate_shrinkage: float = Field(default=100.0, ge=0)
    """How many entries' worth of weight the round's prior has in the estimated share of one
    provider's entries that wait at another."""
    max_cluster_size: int = Field(default=12, ge=2, le=1000)
    max_block_entries: int = Field(default=1000, ge=10)
    """A blocking key shared by more entries than this (a placeholder, a care home's postcode)
    proposes no pairs; the skipped keys are counted in the run summary."""
    block_compared: int = Field(default=60, ge=3)
    """A block of up to this many entries is compared whole; in a larger one each entry meets
    about this many neighbours in the pass's sort order, so pairs per entry stay bounded."""

    @model_validator(mode="after")
    def _review_below_link(self) -> LinkageSettings:
        if self.review_threshold > self.link_threshold:
            raise ValueError("review_threshold must not exceed link_threshold")
        if self.second_link_threshold < self.link_threshold:
            raise ValueError("second_link_threshold must not be below link_threshold")
        return self


class StoreSettings(BaseModel):
    """What the round's DuckDB store may use (unset: taken from the machine)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threads: int | None = Field(default=None, ge=1, le=256)
    """Threads for DuckDB (default: every core)."""
    memory_mb: int | None = Field(default=None, ge=256)
    """DuckDB's memory limit in MiB, beyond which it spills to ``<store>.tmp`` (default: half
    of the machine's memory, and for linking no more than the round needs, see
    :func:`linkage.store.round_resources`)."""

    def resources(self, entries: int | None = None) -> StoreResources:
        """Return the store's resources: the configured ones, the machine's for the rest; given
        the round's ``entries``, a memory limit that is not configured grows with the round."""
        machine = machine_resources()
        if entries is not None:
            machine = round_resources(machine, entries)
        return StoreResources(threads=self.threads or machine.threads, memory_mb=self.memory_mb or machine.memory_mb)
