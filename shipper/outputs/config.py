"""What the config's `output:` may say: one model per output, told apart by `type:`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from shipper.core.durations import Seconds
from shipper.core.streams import check_namespace
from shipper.elastic.connection import EsSettings


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ElasticsearchOutputConfig(EsSettings):
    type: Literal["elasticsearch"] = "elasticsearch"
    namespace: str = "default"
    setup: bool = False  # install/update templates at start
    batch_size: int = Field(2000, ge=1)
    batch_mb: float = Field(8.0, gt=0)
    request_timeout: Seconds = 60.0
    max_backoff: Seconds = 30.0

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return check_namespace(value)

    def settings(self) -> EsSettings:
        return EsSettings(**{name: getattr(self, name) for name in EsSettings.model_fields})


class FileOutputConfig(Strict):
    type: Literal["file"] = "file"
    path: Path


class StdoutOutputConfig(Strict):
    type: Literal["stdout"] = "stdout"


def _output_shorthand(value: Any) -> Any:
    """`output: {elasticsearch: {...}}`, `{file: {path: ...}}` and `{stdout: true}` (the first config format)
    are `{type: elasticsearch, ...}`, `{type: file, path: ...}` and `{type: stdout}`."""
    if not isinstance(value, dict) or "type" in value:
        return value
    chosen = [name for name in ("elasticsearch", "file") if name in value] + (["stdout"] if value.get("stdout") else [])
    if len(chosen) != 1 or len(value) != 1:
        raise ValueError(
            "expected exactly one of elasticsearch, stdout: true, file (or `type:` one of them); "
            f"got {chosen or 'none'}"
        )
    ((name, body),) = value.items()
    if name == "stdout" and body is True:
        return {"type": "stdout"}
    if name in ("elasticsearch", "file") and isinstance(body, dict):
        return {"type": name, **body}
    return value


OutputConfig = Annotated[
    ElasticsearchOutputConfig | FileOutputConfig | StdoutOutputConfig,
    BeforeValidator(_output_shorthand),
    Field(discriminator="type"),
]
