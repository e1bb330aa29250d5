from __future__ import annotations

import bz2
import gzip
import io
import itertools
import lzma

import pytest

from shipper.core.compression import open_binary
from shipper.pipeline.framing import MAX_LINE_BYTES, Framer, decode, read_lines


def lines(data: bytes):
    """Every input's path: framed from a stream, decoded a block at a time."""
    return list(read_lines(io.BytesIO(data)))


def framed(data: bytes, size: int) -> list:
    """Fed `size` bytes at a time (a pipe, a followed file), ended by `finish`."""
    framer = Framer()
    blocks = [b for i in range(0, len(data), size) for b in framer.feed(data[i : i + size])] + framer.finish()
    return blocks


def test_crlf_and_missing_final_newline():
    assert lines(b"a\r\nb\nc") == [("a", []), ("b", []), ("c", [])]


def test_empty_lines_are_lines():
    assert lines(b"\n\nx\n") == [("", []), ("", []), ("x", [])]


def test_invalid_utf8_is_replaced_and_tagged():
    [(text, tags)] = lines(b"caf\xe9 \xff ok\n")
    assert text == "caf\ufffd \ufffd ok"
    assert tags == ["invalid_utf8"]


def test_nul_bytes_are_replaced_and_tagged():
    [(text, tags)] = lines(b"a\x00b\n")
    assert text == "a\ufffdb"
    assert tags == ["nul_bytes"]


def test_huge_line_is_truncated_and_the_next_line_survives():
    huge = b"x" * (MAX_LINE_BYTES * 3 + 17)
    result = lines(huge + b"\nnext\n")
    assert len(result) == 2
    assert len(result[0][0]) == MAX_LINE_BYTES and result[0][1] == ["truncated"]
    assert result[1] == ("next", [])


def test_truncation_does_not_split_a_character():
    data = b"a" * (MAX_LINE_BYTES - 1) + "é".encode() + b"tail\n"
    [(text, tags)] = lines(data)
    assert tags == ["truncated"]
    assert text == "a" * (MAX_LINE_BYTES - 1)


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress, lambda b: b])
def test_compression_is_detected_by_content(tmp_path, compress):
    path = tmp_path / "mail.log.1"  # no telling extension
    path.write_bytes(compress(b"one\ntwo\n"))
    with open_binary(path) as stream:
        assert [t for t, _ in read_lines(stream)] == ["one", "two"]


def blocks_to_lines(data: bytes, size: int):
    """Line by line (the slow path of a block) against `lines` (a block decoded in one pass)."""
    return [decode(line) for block in framed(data, size) for line in block.lines()]


@pytest.mark.parametrize("size", [1, 7, 64, 4096, 1 << 20])
def test_blocks_give_the_same_lines_as_line_reading(size):
    data = b"one\r\ntwo\n\ncaf\xe9\nnul\x00here\n" + b"y" * (MAX_LINE_BYTES + 50) + b"\nlast"
    assert blocks_to_lines(data, size) == lines(data)
    assert [t for block in framed(data, size) for t in block.texts()] == lines(data)


def test_block_reader_bounds_memory_on_a_huge_line():
    data = b"a\n" + b"z" * (10 * MAX_LINE_BYTES) + b"\nb\n"
    framer = Framer()
    held = []
    for i in range(0, len(data), 4096):
        framer.feed(data[i : i + 4096])
        held.append(framer.held)
    assert max(held) <= MAX_LINE_BYTES
    assert blocks_to_lines(data, 4096) == lines(data)


def true_offsets(data: bytes) -> list[int]:
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    return starts if data and not data.endswith(b"\n") else starts[:-1]


@pytest.mark.parametrize("size", [1, 7, 64, 4096, 1 << 20])
@pytest.mark.parametrize(
    "data",
    [
        b"one\r\ntwo\n\ncaf\xe9\nnul\x00here\n" + b"y" * (MAX_LINE_BYTES + 50) + b"\nlast",
        b"a\n" + b"z" * (3 * MAX_LINE_BYTES) + b"\nb\n" + b"w" * (MAX_LINE_BYTES + 1) + b"\n\nc",
        b"",
        b"no newline at all",
        b"\n\n\n",
    ],
)
def test_block_offsets_point_at_each_lines_start(data, size):
    """log.offset and the event _id depend on these: every line's offset is where it starts in the stream,
    also after over-long lines that were cut; each line's end is where the next one starts, a cut line's
    too (a registry acknowledging it moves past all of it)."""
    found = [line for block in framed(data, size) for line in block.lines()]
    assert [line.offset for line in found] == true_offsets(data)
    assert [a.end for a, _ in itertools.pairwise(found)] == [b.offset for _, b in itertools.pairwise(found)]
    if found:
        assert found[-1].end == len(data)
    assert len(found) == len(lines(data))
    assert all(len(line.raw) <= MAX_LINE_BYTES for line in found)
