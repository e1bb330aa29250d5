"""The receiver's stores: a bounded memory queue, and the on-disk spool that survives a crash."""

from __future__ import annotations

import os
from pathlib import Path

from shipper.receive.store import MemoryStore, Spool


def _batch(n: int, start: int = 0) -> list[tuple[str, float, bytes, list[str]]]:
    return [("192.0.2.1:514", 1700000000.0 + i, f"<13>message {i}".encode(), []) for i in range(start, start + n)]


def test_memory_store_takes_in_order_and_is_full_until_released():
    store = MemoryStore(max_bytes=200)
    store.append(_batch(5))
    assert not store.room()
    taken = store.take(3) + store.take(10)
    assert [m.payload for m in taken] == [f"<13>message {i}".encode() for i in range(5)]
    store.release(taken[-1].end)
    assert store.room() and store.held_bytes() == 0


def test_the_spool_replays_what_was_not_released_with_the_same_positions(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**9)
    spool.append(_batch(10))
    first = spool.take(100)
    assert len(first) == 10 and first[0].peer == "192.0.2.1:514" and first[3].received == 1700000003.0
    spool.release(first[4].end)
    spool.close()
    again = Spool(tmp_path, max_bytes=10**9)
    replay = again.take(100)
    assert [(m.position, m.payload) for m in replay] == [(m.position, m.payload) for m in first[5:]]
    assert again.identity == spool.identity


def test_a_record_torn_by_a_crash_ends_the_spool_there(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**9)
    spool.append(_batch(3))
    spool.close()
    segment = next(tmp_path.glob("segment-*.spool"))
    with segment.open("ab") as f:
        f.write(b"\x00\x00\x01\x00garbage")  # half a record
    again = Spool(tmp_path, max_bytes=10**9)
    assert [m.payload for m in again.take(10)] == [f"<13>message {i}".encode() for i in range(3)]
    again.append(_batch(1, start=3))
    assert [m.payload for m in again.take(10)] == [b"<13>message 3"]


def test_segments_roll_and_released_ones_are_deleted(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**9, segment_bytes=200)
    for i in range(10):
        spool.append(_batch(3, start=3 * i))
    assert len(list(tmp_path.glob("segment-*.spool"))) > 3
    taken = spool.take(1000)
    assert len(taken) == 30
    spool.release(taken[-1].end)
    spool.take(1)  # the reader moves off the last read segment
    spool.close()
    assert len(list(tmp_path.glob("segment-*.spool"))) <= 2
    assert Spool(tmp_path, max_bytes=10**9).take(100) == []


def test_a_full_spool_has_no_room_until_released(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=300)
    spool.append(_batch(20))
    assert not spool.room()
    taken = spool.take(100)
    spool.release(taken[-1].end)
    assert spool.room()


def test_state_files_are_private(tmp_path: Path):
    spool = Spool(tmp_path / "spool", max_bytes=10**9)
    spool.append(_batch(1))
    spool.release(spool.take(1)[0].end)
    spool.close()
    for name in ("identity", "released"):
        assert os.stat(tmp_path / "spool" / name).st_mode & 0o077 == 0
    assert os.stat(tmp_path / "spool").st_mode & 0o077 == 0
