"""Render index_templates/ from shipper/schema/fields.yml and transactions.yml (a test checks they agree)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from shipper.elastic.templates import KINDS, write

ROOT = Path(__file__).resolve().parent.parent / "index_templates"

if __name__ == "__main__":
    for kind in KINDS:
        shutil.rmtree(ROOT / kind, ignore_errors=True)
    for path in write(ROOT):
        print(path.relative_to(ROOT.parent), file=sys.stderr)
