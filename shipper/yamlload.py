"""YAML reading for shipper's data files: libyaml's C loader when PyYAML has it (pack loading was
dominated by the pure-Python parser), the pure-Python safe loader otherwise."""

from __future__ import annotations

from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)
