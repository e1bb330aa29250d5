#!/usr/bin/env python3
"""Write grok_patterns/parsed.json: the bundled packs as YAML reads them, by digest, so that commands start
without parsing their YAML (shipper/parse/packs.py). Run after editing a pack; a test fails until then,
and until then the edited pack is read from its YAML, as every pack outside the bundled directory is.

    PYTHONPATH=. python3 scripts/regen_parsed_packs.py
"""

from __future__ import annotations

import orjson

from shipper.parse.packs import PARSED, parsed_packs
from shipper.resources import grok_patterns_dir


def main() -> None:
    directory = grok_patterns_dir()
    parsed = parsed_packs(directory)
    (directory / PARSED).write_bytes(orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS) + b"\n")
    print(f"{directory / PARSED}: {len(parsed)} of {len(list(directory.glob('*.yml')))} packs")


if __name__ == "__main__":
    main()
