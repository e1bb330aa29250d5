"""Finding the queue tools: PATH first, then Zimbra's and qmail's own directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipper.queue import mta


def test_zimbra_postqueue_is_found_off_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    sbin = tmp_path / "opt" / "zimbra" / "common" / "sbin"
    sbin.mkdir(parents=True)
    (sbin / "postqueue").write_text("#!/bin/sh\n")
    (sbin / "postqueue").chmod(0o755)
    monkeypatch.setattr(mta, "ZIMBRA_SBIN", sbin)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert mta.executable("postqueue") == str(sbin / "postqueue")
    assert mta.detect() is mta.POSTFIX


def test_nothing_installed_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(mta, "ZIMBRA_SBIN", tmp_path / "none")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(mta.Path, "exists", lambda self: False)
    with pytest.raises(ValueError, match="--mta"):
        mta.detect()
    with pytest.raises(ValueError, match="not found"):
        mta.executable("exim")
    with pytest.raises(ValueError, match="unknown MTA"):
        mta.choose("courier")
