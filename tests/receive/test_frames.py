"""RFC 6587 framing of syslog over TCP and TLS, incremental and hostile-input proof."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.receive.frames import MAX_COUNT, StreamDecoder, datagram


def _all(decoder: StreamDecoder, *chunks: bytes) -> list[tuple[bytes, list[str]]]:
    frames = [f for chunk in chunks for f in decoder.feed(chunk)] + decoder.close()
    return [(f.payload, f.tags) for f in frames]


def test_lf_and_octet_counted_frames_mix_and_split_anywhere():
    counted = b"<13>1 - h b - - - 2"
    stream = b"<13>Jan  5 10:00:00 h a: one\n%d %s<13>Jan  5 10:00:00 h c: three\r\n" % (len(counted), counted)
    whole = _all(StreamDecoder(1024), stream)
    assert whole == [(b"<13>Jan  5 10:00:00 h a: one", []), (b"<13>1 - h b - - - 2", []),
                     (b"<13>Jan  5 10:00:00 h c: three", [])]  # fmt: skip
    for cut in range(1, len(stream)):
        assert _all(StreamDecoder(1024), stream[:cut], stream[cut:]) == whole, cut
    assert _all(StreamDecoder(1024), *[stream[i : i + 1] for i in range(len(stream))]) == whole


def test_a_counted_frame_may_hold_newlines_and_a_nul_ends_a_frame():
    assert _all(StreamDecoder(1024), b"11 line1\nline2") == [(b"line1\nline2", [])]
    assert _all(StreamDecoder(1024), b"a\x00b\x00") == [(b"a", []), (b"b", [])]


def test_an_oversized_lf_frame_is_cut_and_the_rest_skipped():
    decoder = StreamDecoder(100)
    frames = _all(decoder, b"x" * 5000, b"y" * 5000 + b"\nnext\n")
    assert frames == [(b"x" * 100, ["truncated"]), (b"next", [])]


def test_an_oversized_counted_frame_is_cut_and_its_count_honoured():
    frames = _all(StreamDecoder(100), b"500 " + b"z" * 500 + b"after\n")
    assert frames == [(b"z" * 100, ["truncated"]), (b"after", [])]


def test_an_absurd_count_is_not_obeyed():
    frames = _all(StreamDecoder(100), b"99999999999 <13>hello\n<13>next\n")
    assert frames == [(b"99999999999 <13>hello", ["malformed_frame"]), (b"<13>next", [])]
    too_big = f"{MAX_COUNT + 1} ".encode()
    assert _all(StreamDecoder(100), too_big + b"x\nok\n") == [(too_big + b"x", ["malformed_frame"]), (b"ok", [])]


def test_a_connection_closed_mid_frame_gives_what_it_sent():
    assert _all(StreamDecoder(100), b"50 only part") == [(b"only part", ["truncated"])]
    assert _all(StreamDecoder(100), b"no newline") == [(b"no newline", ["truncated"])]


def test_a_datagram_is_one_message():
    assert datagram(b"<13>hi\n", 10).payload == b"<13>hi"
    assert datagram(b"x" * 20, 10).tags == ["truncated"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=20), st.integers(min_value=16, max_value=300))
def test_any_bytes_give_bounded_frames_and_never_raise(chunks, limit):
    decoder = StreamDecoder(limit)
    for frame in [f for c in chunks for f in decoder.feed(c)] + decoder.close():
        assert len(frame.payload) <= limit
