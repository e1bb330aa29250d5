"""The tailer on real files in a temporary directory: rotation styles, truncation, partial and long lines."""

from __future__ import annotations

import gzip
import os
import shutil
import time
from pathlib import Path

from shipper.pipeline.framing import MAX_LINE_BYTES
from shipper.run.config import InputConfig
from shipper.run.registry import Registry
from shipper.run.tailer import Tailer


def make_tailer(directory: Path, registry: Registry | None = None, pattern: str = "mail.log*", **kwargs) -> Tailer:
    registry = registry or Registry(directory / "registry.json")
    return Tailer([InputConfig(paths=[str(directory / pattern)])], registry, rotate_grace=0.0, **kwargs)


def drain(tailer: Tailer, rounds: int = 3) -> list[bytes]:
    """Scan and read until nothing new comes, acknowledging as the service's output would."""
    got: list[bytes] = []
    for _ in range(rounds):
        tailer.scan()
        while True:
            batch = list(tailer.poll())
            if not batch:
                break
            for source, lines in batch:
                got += [line.raw for line in lines]
                source.state.confirm(lines[-1].end)
    return got


def shipped_then_stopped(directory: Path, *lines: str) -> Path:
    """mail.log with these lines, followed to its end by a tailer that then stops (registry saved)."""
    log = directory / "mail.log"
    write(log, *lines)
    registry = Registry(directory / "registry.json")
    first = make_tailer(directory, registry, pattern="mail.log")
    assert drain(first) == [line.encode() for line in lines]
    first.close()
    registry.save()
    return log


def write(path: Path, *lines: str, mode: str = "a") -> None:
    with path.open(mode) as f:
        f.writelines(line + "\n" for line in lines)


def test_follows_appends_and_holds_a_partial_line(tmp_path):
    log = tmp_path / "mail.log"
    write(log, "one", "two")
    tailer = make_tailer(tmp_path, partial_timeout=0.2)
    assert drain(tailer) == [b"one", b"two"]
    with log.open("a") as f:
        f.write("thr")
    assert drain(tailer) == []  # held: no newline yet
    with log.open("a") as f:
        f.write("ee\nfour")
    assert drain(tailer) == [b"three"]
    time.sleep(0.3)
    assert drain(tailer) == [b"four"]  # shipped after the timeout


def test_rename_rotation_finishes_the_old_file_then_follows_the_new(tmp_path):
    log = tmp_path / "mail.log"
    write(log, "a1", "a2")
    tailer = make_tailer(tmp_path, pattern="mail.log")
    assert drain(tailer) == [b"a1", b"a2"]
    write(log, "a3")
    os.rename(log, tmp_path / "mail.log.1")
    write(tmp_path / "mail.log.1", "a4")  # the daemon writes on until it reopens
    write(log, "b1", mode="w")
    assert sorted(drain(tailer)) == [b"a3", b"a4", b"b1"]
    assert len(tailer.harvesters) == 1  # the rotated file was read to its end and closed
    assert any(s.finished for s in tailer.registry.files.values())


def test_copytruncate_restarts_at_zero_with_a_new_fingerprint(tmp_path):
    log = tmp_path / "mail.log"
    write(log, "old1", "old2", "old3")
    warnings: list[str] = []
    tailer = make_tailer(tmp_path, pattern="mail.log")
    tailer.events.warn = warnings.append
    assert drain(tailer) == [b"old1", b"old2", b"old3"]
    before = next(iter(tailer.registry.files.values())).fingerprint
    shutil.copy(log, tmp_path / "mail.log.1")
    log.write_text("")  # truncate in place
    write(log, "new1")
    assert drain(tailer) == [b"new1"]
    assert any("truncated" in w for w in warnings)
    state = next(iter(tailer.registry.files.values()))
    assert state.fingerprint != before and state.offset == len(b"new1\n")


def test_a_compressed_rotation_already_shipped_is_not_read_again(tmp_path):
    log = tmp_path / "mail.log"
    write(log, "x1", "x2")
    tailer = make_tailer(tmp_path)
    assert drain(tailer) == [b"x1", b"x2"]
    os.rename(log, tmp_path / "mail.log.1")
    write(log, "y1", mode="w")
    assert drain(tailer) == [b"y1"]
    rotated = tmp_path / "mail.log.1"
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()
    assert drain(tailer) == []


def test_a_rotation_compressed_while_down_is_finished_from_its_offset(tmp_path):
    log = shipped_then_stopped(tmp_path, "p1", "p2")
    # down: more lines, then logrotate renames, compresses and starts a new file
    write(log, "p3", "p4")
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(log.read_bytes()))
    log.unlink()
    write(log, "q1", mode="w")
    again = make_tailer(tmp_path, Registry.load(tmp_path / "registry.json"), pattern="mail.log")
    assert sorted(drain(again)) == [b"p3", b"p4", b"q1"]


def test_restart_resumes_at_the_acknowledged_offset(tmp_path):
    log = shipped_then_stopped(tmp_path, "r1", "r2")
    write(log, "r3")
    assert drain(make_tailer(tmp_path, Registry.load(tmp_path / "registry.json"))) == [b"r3"]


def test_inode_reuse_is_a_new_file(tmp_path):
    log = tmp_path / "mail.log"
    write(log, "first-file-line", "more")
    registry = Registry(tmp_path / "registry.json")
    tailer = make_tailer(tmp_path, registry)
    drain(tailer)
    tailer.close()
    registry.save()
    inode = log.stat().st_ino
    log.write_text("")  # same inode, other content: as if deleted and the inode handed out again
    write(log, "another-file", "x")
    assert log.stat().st_ino == inode
    assert drain(make_tailer(tmp_path, Registry.load(tmp_path / "registry.json"))) == [b"another-file", b"x"]


def test_an_over_long_line_is_cut_and_the_next_line_kept(tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(b"short\n" + b"z" * (3 * MAX_LINE_BYTES) + b"\nafter\n")
    tailer = make_tailer(tmp_path)
    tailer.scan()
    got = []
    for _ in range(100):
        for _source, lines in tailer.poll(budget=4096):
            got += [(len(line.raw), line.truncated) for line in lines]
    assert got == [(5, False), (MAX_LINE_BYTES, True), (5, False)]


def test_a_cut_line_acknowledged_moves_the_offset_past_all_of_it(tmp_path):
    """The registry once stopped where the line was cut: a restart read the rest of it as a line of its own."""
    log = tmp_path / "mail.log"
    log.write_bytes(b"short\n" + b"z" * (12 * MAX_LINE_BYTES) + b"\n")  # longer than one read
    registry = Registry(tmp_path / "registry.json")
    first = make_tailer(tmp_path, registry)
    assert [len(raw) for raw in drain(first)] == [5, MAX_LINE_BYTES]
    first.close()
    assert next(iter(registry.files.values())).offset == log.stat().st_size
    with log.open("ab") as out:
        out.write(b"next\n")
    assert drain(make_tailer(tmp_path, registry)) == [b"next"]


def test_an_unfinished_over_long_last_line_is_shipped_after_the_partial_timeout(tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(b"short\n" + b"z" * (MAX_LINE_BYTES + 10))
    tailer = make_tailer(tmp_path, partial_timeout=0.2)
    assert drain(tailer) == [b"short"]
    time.sleep(0.3)
    assert drain(tailer) == [b"z" * MAX_LINE_BYTES]


def test_start_at_end_skips_what_is_there_but_not_files_that_appear_later(tmp_path):
    write(tmp_path / "a.log", "old")
    tailer = Tailer([InputConfig(paths=[str(tmp_path / "*.log")])], Registry(tmp_path / "r.json"),
                    start_position="end", rotate_grace=0.0)  # fmt: skip
    assert drain(tailer) == []
    write(tmp_path / "a.log", "new")
    write(tmp_path / "b.log", "born-later")
    assert sorted(drain(tailer)) == [b"born-later", b"new"]


def test_registry_is_written_atomically_and_read_back(tmp_path):
    write(tmp_path / "mail.log", "l1")
    registry = Registry(tmp_path / "state" / "registry.json")
    drain(make_tailer(tmp_path, registry))
    registry.save()
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["registry.json"]  # no temp file left
    again = Registry.load(tmp_path / "state" / "registry.json")
    assert [(s.path, s.offset) for s in again.files.values()] == [(str(tmp_path / "mail.log"), 3)]


def test_a_copytruncate_while_down_is_finished_from_the_copy(tmp_path):
    log = shipped_then_stopped(tmp_path, "c1", "c2")
    write(log, "c3")
    shutil.copy(log, tmp_path / "mail.log.1")
    log.write_text("")
    write(log, "d1")
    assert sorted(drain(make_tailer(tmp_path, Registry.load(tmp_path / "registry.json"), pattern="mail.log"))) == [
        b"c3", b"d1",
    ]  # fmt: skip


def test_a_truncation_hidden_by_new_writes_is_noticed_by_the_first_line(tmp_path):
    log = tmp_path / "mail.log"
    write(log, "a")
    tailer = make_tailer(tmp_path, pattern="mail.log")
    assert drain(tailer) == [b"a"]
    log.write_text("")
    write(log, "bbbbbbbbbb", "c")  # longer than what was read: the size alone looks like growth
    assert drain(tailer) == [b"bbbbbbbbbb", b"c"]


def test_a_first_line_longer_than_the_fingerprint_is_not_mistaken_for_a_rewrite(tmp_path):
    log = tmp_path / "mail.log"
    write(log, "h" * 3000, "next")
    tailer = make_tailer(tmp_path, pattern="mail.log")
    assert [len(x) for x in drain(tailer)] == [3000, 4]
    write(log, "more")
    assert drain(tailer) == [b"more"]


def test_a_file_deleted_while_open_is_read_to_its_end_then_closed(tmp_path):
    log = tmp_path / "mail.log"
    write(log, "k1")
    tailer = make_tailer(tmp_path, pattern="mail.log")
    assert drain(tailer) == [b"k1"]
    with log.open("a") as still_open:
        log.unlink()
        still_open.write("k2\n")  # the writer still holds it
    assert drain(tailer) == [b"k2"]
    assert tailer.harvesters == {}
    assert all(s.finished for s in tailer.registry.files.values())


def read_unconfirmed(tailer: Tailer, rounds: int = 3) -> list[bytes]:
    """Scan and read as the service does while Elasticsearch is away: nothing is ever confirmed."""
    got: list[bytes] = []
    for _ in range(rounds):
        tailer.scan()
        while batch := list(tailer.poll()):
            got += [line.raw for _, lines in batch for line in lines]
    return got


def test_a_rotation_read_while_the_output_is_away_is_not_finished_until_confirmed(tmp_path):
    """The lost-lines reproduction: 3000 lines shipped, stop; 3000 appended, `mv mail.log mail.log.1 && gzip
    mail.log.1`; a run against an unreachable cluster reads them all, saves its registry, is killed; the
    next run must read those 3000 again. Marking the entry finished when read (not when confirmed) lost
    them all."""
    first = [f"first {n}" for n in range(3000)]
    later = [f"later {n}" for n in range(3000)]
    log = shipped_then_stopped(tmp_path, *first)
    write(log, *later)
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(log.read_bytes()))
    log.unlink()
    old = time.time() - 60
    os.utime(tmp_path / "mail.log.1.gz", (old, old))
    registry = Registry.load(tmp_path / "registry.json")
    away = make_tailer(tmp_path, registry)
    assert read_unconfirmed(away) == [line.encode() for line in later]
    assert not any(s.finished for s in registry.files.values())  # read, never confirmed
    registry.save()  # what the registry flush of the killed run wrote
    back = make_tailer(tmp_path, Registry.load(tmp_path / "registry.json"))
    assert drain(back) == [line.encode() for line in later]
    assert all(s.finished for s in back.registry.files.values())
    assert drain(make_tailer(tmp_path, back.registry)) == []  # confirmed: never read a third time


def test_a_renamed_rotation_read_but_not_confirmed_is_finished_after_a_restart(tmp_path):
    log = shipped_then_stopped(tmp_path, "a1")
    registry = Registry.load(tmp_path / "registry.json")
    away = make_tailer(tmp_path, registry, pattern="mail.log")
    assert read_unconfirmed(away) == [] and away.harvesters  # following mail.log again
    write(log, "a2", "a3")
    os.rename(log, tmp_path / "mail.log.1")
    assert read_unconfirmed(away) == [b"a2", b"a3"]
    assert not away.harvesters and not any(s.finished for s in registry.files.values())
    assert read_unconfirmed(away) == []  # drained: not re-read while its lines are in flight
    registry.save()
    back = make_tailer(tmp_path, Registry.load(tmp_path / "registry.json"), pattern="mail.log")
    assert drain(back) == [b"a2", b"a3"]


def test_a_compressed_file_still_being_written_is_never_followed_as_text(tmp_path):
    """gzip creates its output, then writes the header: a scan in between once saw no magic bytes and
    followed the file as text, shipping compressed bytes as lines."""
    tailer = make_tailer(tmp_path)
    content = "".join(f"line {n}\n" for n in range(5000)).encode()
    packed = gzip.compress(content)
    target = tmp_path / "mail.log.1.gz"
    for prefix in (b"", packed[:1]):
        target.write_bytes(prefix)
        assert read_unconfirmed(tailer, rounds=1) == [] and not tailer.harvesters
    target.write_bytes(packed[: len(packed) // 2])  # the header is there, the rest is coming: a fresh mtime
    assert read_unconfirmed(tailer, rounds=1) == [] and not tailer.harvesters
    target.write_bytes(packed)
    old = time.time() - 60
    os.utime(target, (old, old))  # done: gzip gives the file its original's time
    got = drain(tailer)
    assert got == content.splitlines() and not tailer.harvesters


def test_a_huge_line_in_a_compressed_rotation_is_cut_without_being_held(tmp_path, monkeypatch):
    """A 1.3 MB .gz can hold a 300 MB line; the reader once kept all of it pending, copying it per read."""
    from shipper.pipeline.framing import Framer

    huge = b"x" * (40 * MAX_LINE_BYTES)
    (tmp_path / "mail.log.2.gz").write_bytes(gzip.compress(b"first\n" + huge + b"\nafter\n"))
    old = time.time() - 60
    os.utime(tmp_path / "mail.log.2.gz", (old, old))
    held = []
    real = Framer.feed

    def watching(self, data):
        out = real(self, data)
        held.append(self.held)
        return out

    monkeypatch.setattr(Framer, "feed", watching)
    got = drain(make_tailer(tmp_path), rounds=30)  # a read with no complete line yields nothing: poll on
    assert got == [b"first", huge[:MAX_LINE_BYTES], b"after"]
    assert max(held) <= MAX_LINE_BYTES


def test_symbolic_links_in_followed_directories_are_skipped_and_said_once(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret:19000:0:99999:7:::\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    write(logs / "mail.log", "real line")
    (logs / "mail.log.1").symlink_to(secret)
    warnings: list[str] = []
    tailer = make_tailer(logs)
    tailer.events.warn = warnings.append
    assert drain(tailer) == [b"real line"]
    assert drain(tailer) == []
    assert len(warnings) == 1 and "mail.log.1: a symbolic link, not followed" in warnings[0]


def test_a_followed_link_must_lead_to_a_file_of_root_or_the_directory_owner(tmp_path):
    import pytest

    if os.getuid() != 0:
        pytest.skip("needs root to give files to other owners")
    logs = tmp_path / "logs"
    logs.mkdir()
    os.chown(logs, 101, 101)  # a daemon's log directory (Debian-exim, zimbra)
    mine, theirs, roots = tmp_path / "daemon.log", tmp_path / "other.log", tmp_path / "root.log"
    for path, owner in ((mine, 101), (theirs, 202), (roots, 0)):
        write(path, f"owned by {owner}")
        os.chown(path, owner, owner)
    (logs / "a.log").symlink_to(mine)
    (logs / "b.log").symlink_to(theirs)
    (logs / "c.log").symlink_to(roots)
    warnings: list[str] = []
    tailer = Tailer([InputConfig(paths=[str(logs / "*.log")], follow_symlinks=True)], Registry(tmp_path / "r.json"),
                    rotate_grace=0.0)  # fmt: skip
    tailer.events.warn = warnings.append
    assert sorted(drain(tailer)) == [b"owned by 0", b"owned by 101"]
    assert len(warnings) == 1 and "b.log: a symbolic link to a file owned by uid 202" in warnings[0]
