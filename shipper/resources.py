"""Where shipper's data directories live: beside the package in a checkout, inside it in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipper data directory {name!r} not found beside {_PACKAGE}")


def grok_patterns_dir() -> Path:
    return data_dir("grok_patterns")
