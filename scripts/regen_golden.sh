#!/usr/bin/env bash
# Regenerate the expected NDJSON for every sample: review the diff by eye before committing it.
#   scripts/regen_golden.sh && git diff --stat tests/golden
set -euo pipefail
cd "$(dirname "$0")/.."
for sample in samples/*/*.log; do
    source=$(basename "$(dirname "$sample")")
    mkdir -p "tests/golden/$source"
    python3 -m shipper parse --timezone UTC --reference-date 2026-11-28 "$sample" > "tests/golden/$source/$(basename "$sample")-expected.ndjson"
done
echo "golden files regenerated under tests/golden/"
