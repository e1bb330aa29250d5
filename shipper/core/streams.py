"""Data stream names: `<type>-<dataset>-<namespace>` (Elastic's naming scheme)."""

from __future__ import annotations

NAMESPACE_FORBIDDEN = set('\\/*?"<>|,#: -')


def check_namespace(namespace: str) -> str:
    """Data stream naming scheme: lowercase, no '-', at most 100 bytes."""
    bad = sorted(set(namespace) & NAMESPACE_FORBIDDEN)
    if not namespace or namespace != namespace.lower() or bad or len(namespace.encode()) > 100:
        raise ValueError(
            f"--namespace: {namespace!r} is not a valid data stream namespace "
            '(lowercase, at most 100 bytes, none of \\ / * ? " < > | , # : - or space)'
        )
    return namespace
