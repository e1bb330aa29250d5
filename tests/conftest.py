from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from shipper.parse.parser import Parser

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
GOLDEN = ROOT / "tests" / "golden"
REFERENCE = date(2026, 11, 28)


def ecs_reference() -> Path | None:
    """ECS field definitions: $SHIPPER_ECS_FLAT, or shared/reference beside the checkout."""
    candidates = [os.environ.get("SHIPPER_ECS_FLAT", ""), str(ROOT.parent / "shared/reference/ecs/ecs_flat.yml")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def parser() -> Parser:
    return Parser(timezone="UTC", reference=REFERENCE)
