"""One entry of ``kindling:charts``: a Helm chart, pinned, from a repository or a local path."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from kindling.versions import is_exact_version

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VERSION_RANGE_CHARS = re.compile(r"[\^~<>=*|, ]|\.x\b|\.X\b")


class Chart(BaseModel):
    """A chart the stack installs after the pod network (``kindling:charts``)."""

    # As every model of kindling/config.py: unknown keys refused, camelCase as in the stack file.
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    name: str = Field(description="Helm release name")
    chart: str | None = None
    repo: str | None = None
    path: str | None = None
    version: str | None = None
    namespace: str = "default"
    values: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name", "namespace")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _DNS_LABEL.match(value) or len(value) > 53:
            raise ValueError(
                f"{value!r} is not a DNS-1123 label (lowercase letters, digits and '-', at most 53 characters)"
            )
        return value

    @field_validator("repo")
    @classmethod
    def _repo_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(https?|oci)://\S+$", value):
            raise ValueError(f"{value!r} is not a chart repository; give an http(s):// or oci:// URL")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _pinned_version(cls, value: Any) -> Any:
        if value is None:
            return value
        text = str(value)
        if text in ("", "latest") or _VERSION_RANGE_CHARS.search(text) or not is_exact_version(text):
            raise ValueError(f"{text!r} is not a pinned chart version; give one exact version such as 4.0.1")
        return text

    @model_validator(mode="after")
    def _one_source(self) -> Chart:
        if self.version is None:
            raise ValueError("version is missing; every chart must pin an exact version such as 4.0.1")
        if (self.repo is None) == (self.path is None):
            raise ValueError("give exactly one of repo (with chart) or path")
        if self.repo is not None and not self.chart:
            raise ValueError("a chart from a repository needs chart: the chart's name in that repository")
        return self
