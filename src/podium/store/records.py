"""What the store returns besides runs frames: plain, immutable records.

Every backend fills the same records, so pages, reports and the champion never see which kind of
store they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass(frozen=True)
class Experiment:
    """One experiment as the experiments picker shows it."""

    id: str
    name: str
    run_count: int
    last_activity: datetime | None
    lifecycle_stage: str = "active"


def last_activity(last_start: int | None, updated: int | None, created: int | None) -> datetime | None:
    """When work last happened: the newest run's start; the experiment's own update or creation
    time only when it has no runs (creating or tagging an experiment is not work on it)."""
    stamp = last_start or updated or created
    return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc) if stamp else None


def newest_first(experiments: list[Experiment]) -> list[Experiment]:
    return sorted(experiments, key=lambda e: (e.last_activity or datetime.min.replace(tzinfo=timezone.utc)), reverse=True)


def utc_ms(stamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc) if stamp else None


@dataclass(frozen=True)
class DatasetRef:
    """A data set a run logged with ``mlflow.log_input``."""

    name: str
    digest: str
    context: str
    source_type: str


@dataclass(frozen=True)
class ModelRef:
    """A model a run logged: its URI to load it by and the files it carries."""

    name: str
    uri: str
    model_id: str | None
    files: tuple[str, ...]
    files_checked: bool = True  # False: named by MLflow 2's log-model tag, its folder out of reach


@dataclass(frozen=True)
class RunRecord:
    """What a reproducibility card needs about one run."""

    run_id: str
    tags: dict
    datasets: tuple[DatasetRef, ...]
    models: tuple[ModelRef, ...]


@dataclass(frozen=True)
class LoggedModel:
    """An MLflow 3 logged model, as every backend reads it."""

    model_id: str
    name: str
    source_run_id: str | None
    status: str
    created: int | None
    artifact_location: str | None


@dataclass(frozen=True)
class RunModel:
    """The model a run logged, as the champion registers it.

    ``source`` is what a new model version is created from: ``models:/<model_id>`` for an
    MLflow 3 logged model, else the model folder's location in the run's artifacts.
    ``evidence`` says how it was found: ``logged model``, ``log-model tag`` or ``MLmodel artifact``.
    """

    run_id: str
    name: str
    source: str
    model_id: str | None
    evidence: str


@dataclass(frozen=True)
class RegistryVersion:
    """One version of a registered model, with its tags and the aliases pointing at it.

    ``stage`` is the legacy stage (``Production``, ``Staging``, ``Archived``, ``None``) that
    registries before aliases (MLflow < 2.3) use instead.
    """

    model_name: str
    version: int
    run_id: str | None
    source: str
    status: str
    aliases: tuple[str, ...]
    tags: dict
    created: datetime | None
    stage: str = "None"


@dataclass(frozen=True)
class AliasedVersion:
    """The registered model version behind an alias (or a legacy stage), and its source run."""

    model_name: str
    alias: str
    version: str
    run_id: str | None


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model's name and its aliases (``{alias: version}``)."""

    name: str
    aliases: dict = field(default_factory=dict)
