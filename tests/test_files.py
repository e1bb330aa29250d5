import os
import stat

import pytest

from shipper.files import STATE_MODE, open_append, write_new


@pytest.fixture(autouse=True)
def usual_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_outputs_are_0640_and_state_0600_not_0644(tmp_path):
    with open_append(tmp_path / "events.ndjson") as out:
        out.write(b"{}\n")
    write_new(tmp_path / "report.html", b"<html>")
    write_new(tmp_path / "open.json", b"{}", STATE_MODE)
    assert (mode(tmp_path / "events.ndjson"), mode(tmp_path / "report.html"), mode(tmp_path / "open.json")) == (
        0o640, 0o640, 0o600,
    )  # fmt: skip


def test_an_existing_file_keeps_its_mode_and_is_appended_or_replaced(tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"a\n")
    path.chmod(0o600)
    with open_append(path) as out:
        out.write(b"b\n")
    assert path.read_bytes() == b"a\nb\n" and mode(path) == 0o600
    write_new(path, b"c\n")
    assert path.read_bytes() == b"c\n"


def test_a_planted_symlink_is_not_followed(tmp_path):
    target = tmp_path / "shadow"
    target.write_bytes(b"root:x:0:0\n")
    (tmp_path / "report.html").symlink_to(target)
    (tmp_path / "events.ndjson").symlink_to(target)
    with pytest.raises(OSError):
        write_new(tmp_path / "report.html", b"owned")
    with pytest.raises(OSError):
        open_append(tmp_path / "events.ndjson")
    assert target.read_bytes() == b"root:x:0:0\n"
