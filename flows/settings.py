"""The one settings object: read from a TOML file and ``WACHTLIJST_*`` environment variables,
validated at start-up with every error reported at once. Holds no secrets."""

from __future__ import annotations

import contextvars
import datetime as dt
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from flows.settings_sections import (
    AlertSettings,
    LimitSettings,
    LinkageSettings,
    PathSettings,
    ProviderSettings,
    ReportSettings,
    RunnerSettings,
    ScheduleSettings,
    StoreSettings,
)
from ingest.columns import ALL_COLUMNS, DEFAULT_NORMS_WEEKS, SECTORS, WACHTFASEN
from ingest.read import header_key

ScopeColumn = Literal["sector", "zorgvraag", "wachtfase"]

DEFAULT_MATCH_SCOPE: dict[str, list[ScopeColumn]] = {"ggz": ["sector"], "msz": ["sector", "zorgvraag"]}


_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("config_file", default=None)


class SettingsError(Exception):
    """The configuration cannot be used; the message lists every problem found."""


class Settings(BaseSettings):
    """Typed, frozen configuration of a cleanup round."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix="WACHTLIJST_",
        env_nested_delimiter="__",
    )

    disclosure_threshold: int = Field(10, ge=2, le=100)
    rounding_base: int = Field(1, ge=1, le=100)
    reference_date: dt.date | None = None
    match_scope: dict[str, list[ScopeColumn]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_MATCH_SCOPE.items()}
    )
    norms_weeks: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_NORMS_WEEKS.items()}
    )
    column_aliases: dict[str, str] = Field(default_factory=dict)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    locations: dict[str, str] = Field(default_factory=dict)
    csv_encoding: str = "auto"
    name_other_providers: bool = False
    replace_earlier_deliveries: bool = False
    stale_after_months: int = Field(default=9, ge=1, le=120)
    input_retention_days: int | None = Field(default=None, ge=0)
    paths: PathSettings = Field(default_factory=PathSettings)
    linkage: LinkageSettings = LinkageSettings()
    store: StoreSettings = StoreSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    runner: RunnerSettings = RunnerSettings()
    limits: LimitSettings = LimitSettings()
    alerts: AlertSettings = AlertSettings()
    reports: ReportSettings = ReportSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment over TOML file over defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file.get()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @model_validator(mode="after")
    def _rounding_within_threshold(self) -> Settings:
        if self.rounding_base > self.disclosure_threshold:
            raise ValueError("rounding_base must not exceed disclosure_threshold (a small count would round to 0)")
        return self

    @field_validator("match_scope")
    @classmethod
    def _scope_has_sector(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = [sector for sector in value if sector not in SECTORS]
        if unknown:
            raise ValueError(f"unknown sector(s) {', '.join(unknown)}; use ggz and msz")
        missing = [sector for sector in SECTORS if sector not in value]
        if missing:
            raise ValueError(f"no match scope for sector(s) {', '.join(missing)}")
        for sector, columns in value.items():
            if "sector" not in columns:
                raise ValueError(f"the match scope of {sector} must include 'sector'")
        return value

    @field_validator("norms_weeks", mode="before")
    @classmethod
    def _norms_over_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_NORMS_WEEKS.items()}
        for sector, phases in value.items():
            if isinstance(phases, dict):
                merged.setdefault(sector, {}).update(phases)
            else:
                merged[sector] = phases
        return merged

    @field_validator("norms_weeks")
    @classmethod
    def _norms_complete(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        unknown = [f"{s}.{p}" for s, phases in value.items() for p in phases if s not in SECTORS or p not in WACHTFASEN]
        if unknown:
            raise ValueError(f"unknown sector or wachtfase {', '.join(unknown)}")
        problems = [
            f"{sector}.{phase}"
            for sector in SECTORS
            for phase in WACHTFASEN
            if value.get(sector, {}).get(phase) is None
        ]
        if problems:
            raise ValueError(f"norm missing for {', '.join(problems)}")
        bad = [f"{s}.{p}" for s, phases in value.items() for p, w in phases.items() if w <= 0]
        if bad:
            raise ValueError(f"norm must be a positive number of weeks for {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _codes_and_aliases(self) -> Settings:
        problems: list[str] = []
        for code in [*self.providers, *self.locations, *self.locations.values()]:
            if not (len(code) == 8 and code.isdigit()):
                problems.append(f"AGB code {code!r} is not 8 digits")
        try:
            self.merged_aliases()
        except SettingsError as error:
            problems.append(str(error))
        if self.csv_encoding != "auto":
            try:
                "".encode(self.csv_encoding)
            except LookupError:
                problems.append(f"csv_encoding {self.csv_encoding!r} is not a known encoding")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def merged_aliases(self) -> dict[str, str]:
        """Return {header key: extract column} from the global and all providers' aliases.

        Raises :class:`SettingsError` when an alias names an unknown column or when two
        providers map the same header to different columns.
        """
        merged: dict[str, str] = {}
        tables = [("column_aliases", self.column_aliases)] + [
            (f"providers.{code}.column_aliases", p.column_aliases) for code, p in self.providers.items()
        ]
        problems = []
        for where, table in tables:
            for alias, target in table.items():
                if target not in ALL_COLUMNS:
                    problems.append(f"{where}: {alias!r} maps to unknown column {target!r}")
                    continue
                key = header_key(alias)
                if merged.get(key, target) != target:
                    problems.append(f"{where}: {alias!r} maps to {target!r} and {merged[key]!r}")
                merged[key] = target
        if problems:
            raise SettingsError("; ".join(problems))
        return merged

    def norm_days(self) -> dict[tuple[str, str], int]:
        """Return the norm in days per (sector, wachtfase)."""
        return {
            (sector, phase): weeks * 7 for sector, phases in self.norms_weeks.items() for phase, weeks in phases.items()
        }


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        lines.append(f"  - {where}: {item['msg']}")
    return "\n".join(lines)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Return validated settings from ``config_file`` (TOML), the environment and overrides.

    Raises :class:`SettingsError` listing every problem at once.
    """
    if config_file is not None:
        if not config_file.is_file():
            raise SettingsError(f"configuration file {config_file} does not exist")
        try:
            tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"configuration file {config_file} is not valid TOML: {error}") from None
    token = _config_file.set(config_file)
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        source = f" in {config_file}" if config_file else ""
        raise SettingsError(
            f"the configuration{source} has {error.error_count()} problem(s):\n{_describe(error)}"
        ) from None
    finally:
        _config_file.reset(token)
    if config_file is None:
        return settings
    base = config_file.resolve().parent
    resolved = {
        name: (base / value if value is not None and not value.is_absolute() else value)
        for name, value in settings.paths.model_dump().items()
    }
    return settings.model_copy(update={"paths": PathSettings(**resolved)})
