"""Syslog over a stream (TCP, TLS): RFC 6587 framing, decoded incrementally as bytes arrive.

Each frame is either octet-counted (`MSG-LEN SP SYSLOG-MSG`: rsyslog's and syslog-ng's default for RFC 5424
over TCP) or non-transparent (the message, then LF; a NUL is accepted as a terminator too, as some senders
use it). The choice is made per frame: a frame that starts with a digit 1-9, at most 9 digits and a space
is octet-counted. Senders are strangers, so:

- a frame longer than `max_frame` is cut there and tagged `truncated`; the rest is skipped (to the count's
  end, or to the next LF);
- an octet count that cannot be honest (more than 9 digits, or beyond `MAX_COUNT`) is not obeyed: the
  frame is read as LF-terminated and tagged `malformed_frame`, so one bad sender cannot make the decoder
  swallow gigabytes or stall;
- a connection that closes mid-frame gives what it sent, tagged `truncated`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_COUNT = 16 * 1024 * 1024  # an octet count above this is not believed
_COUNT = re.compile(rb"([1-9][0-9]{0,8}) ")
_ABSURD = re.compile(rb"[0-9]{10,} ")
_END = re.compile(rb"[\n\x00]")


@dataclass(slots=True)
class Frame:
    payload: bytes
    tags: list[str] = field(default_factory=list)


class StreamDecoder:
    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self.buffer = b""
        self.pos = 0  # where undecoded bytes start (the buffer is compacted once per feed, not per frame)
        self.skip = 0  # bytes of an oversized counted frame still to drop
        self.skip_to_end = False  # an oversized LF frame: drop up to the next terminator

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer = self.buffer[self.pos :] + data if self.pos else self.buffer + data
        self.pos = 0
        frames: list[Frame] = []
        while self.pos < len(self.buffer):
            if not self._step(frames):
                break
        return frames

    def close(self) -> list[Frame]:
        """The connection ended: what is left is a last, unfinished frame."""
        rest = self.buffer[self.pos :]
        self.buffer, self.pos = b"", 0
        if self.skip or self.skip_to_end:
            return []
        counted = _COUNT.match(rest)
        if counted is not None:
            rest = rest[counted.end() :]
        rest = rest.strip(b"\r\n\x00")
        return [Frame(rest[: self.max_frame], ["truncated"])] if rest else []

    def _step(self, frames: list[Frame]) -> bool:
        """Decode what the buffer holds at `pos`; False when more bytes are needed."""
        buffer, pos = self.buffer, self.pos
        if self.skip:
            dropped = min(self.skip, len(buffer) - pos)
            self.pos += dropped
            self.skip -= dropped
            return True
        if self.skip_to_end:
            end = _END.search(buffer, pos)
            if end is None:
                self.pos = len(buffer)
                return False
            self.pos = end.end()
            self.skip_to_end = False
            return True
        if buffer[pos] in b"\r\n\x00 ":  # stray separators between frames
            self.pos += 1
            return True
        counted = _COUNT.match(buffer, pos)
        if counted is not None:
            length, start = int(counted.group(1)), counted.end()
            if length > MAX_COUNT:
                return self._lf_frame(frames, ["malformed_frame"])
            if length > self.max_frame:
                if len(buffer) < start + self.max_frame:
                    return False
                frames.append(Frame(buffer[start : start + self.max_frame], ["truncated"]))
                self.pos = start + self.max_frame
                self.skip = length - self.max_frame
                return True
            if len(buffer) < start + length:
                return False
            frames.append(Frame(buffer[start : start + length].rstrip(b"\n")))
            self.pos = start + length
            return True
        if _ABSURD.match(buffer, pos):
            return self._lf_frame(frames, ["malformed_frame"])
        if len(buffer) - pos < 11 and buffer[pos : pos + 1].isdigit() and _END.search(buffer, pos) is None:
            return False  # maybe the start of a count whose space has not arrived yet
        return self._lf_frame(frames, [])

    def _lf_frame(self, frames: list[Frame], tags: list[str]) -> bool:
        buffer, pos = self.buffer, self.pos
        end = _END.search(buffer, pos)
        if end is None:
            if len(buffer) - pos > self.max_frame:  # no end in sight: keep the head, drop to the next LF
                frames.append(Frame(buffer[pos : pos + self.max_frame], [*tags, "truncated"]))
                self.pos = len(buffer)
                self.skip_to_end = True
            return False
        payload = buffer[pos : end.start()].rstrip(b"\r")
        self.pos = end.end()
        if len(payload) > self.max_frame:
            frames.append(Frame(payload[: self.max_frame], [*tags, "truncated"]))
        else:
            frames.append(Frame(payload, tags))
        return True


def datagram(data: bytes, max_frame: int) -> Frame:
    """One UDP datagram is one message (trailing LF or NUL dropped)."""
    payload = data.rstrip(b"\n\x00").rstrip(b"\r")
    if len(payload) > max_frame:
        return Frame(payload[:max_frame], ["truncated"])
    return Frame(payload)
