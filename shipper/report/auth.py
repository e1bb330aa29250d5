"""The report's authentication section: failed logins by source address, by account and by service, across
every source (Postfix SASL, Dovecot, sshd, Exim, Cyrus, PAM, ...), and the logins that succeeded from an
address that had failed before (a guessed password). Events are taken by ECS: `event.category:
authentication` with `event.outcome` failure or success."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shipper.report import model as m

MAX_SOURCES = 200_000  # addresses tracked; past it, new ones count only in the totals (a flood of them)


@dataclass
class _Source:
    failures: int = 0
    users: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    first: str = ""
    last: str = ""


class AuthTally:
    def __init__(self) -> None:
        self.failures = 0
        self.successes = 0
        self.sources: dict[str, _Source] = {}
        self.users: Counter[str] = Counter()
        self.user_sources: dict[str, set[str]] = {}
        self.services: dict[str, list[int]] = {}  # service -> [failures, successes]
        self.after_failures: list[m.LoginAfterFailures] = []
        self.reported: set[tuple[str | None, str | None]] = set()

    def feed(self, event: dict[str, Any], stamp: str) -> None:
        meta = event.get("event")
        if not isinstance(meta, dict) or "authentication" not in (meta.get("category") or ()):
            return
        outcome = meta.get("outcome")
        if outcome not in ("failure", "success"):
            return
        source = event.get("source") or {}
        ip = source.get("ip") if isinstance(source, dict) else None
        user = (event.get("user") or {}).get("name") if isinstance(event.get("user"), dict) else None
        service = str(meta.get("dataset") or "?").removeprefix("mail.")
        counts = self.services.setdefault(service, [0, 0])
        if outcome == "failure":
            self.failures += 1
            counts[0] += 1
            if user:
                self.users[user] += 1
                if ip:
                    self.user_sources.setdefault(user, set()).add(ip)
            if ip:
                self._failed_from(ip, user, service, stamp)
            return
        self.successes += 1
        counts[1] += 1
        seen = self.sources.get(ip) if ip else None
        if seen is not None and seen.failures and seen.first <= stamp and (ip, user) not in self.reported:
            self.reported.add((ip, user))  # the first success after failures (one login logs it more than once)
            self.after_failures.append(m.LoginAfterFailures(
                ip=ip or "", user=user, service=service, at=stamp, failures_before=seen.failures,
                first_failure=seen.first, users_tried=len(seen.users),
            ))  # fmt: skip

    def _failed_from(self, ip: str, user: str | None, service: str, stamp: str) -> None:
        seen = self.sources.get(ip)
        if seen is None:
            if len(self.sources) >= MAX_SOURCES:
                return
            seen = self.sources[ip] = _Source(first=stamp)
        seen.failures += 1
        seen.last = max(seen.last, stamp)
        seen.first = min(seen.first, stamp) if seen.first else stamp
        if user and len(seen.users) < 10_000:
            seen.users.add(user)
        seen.services.add(service)

    def summary(self, top: int | None) -> m.AuthSummary:
        by_ip = sorted(self.sources.items(), key=lambda item: (-item[1].failures, item[0]))
        by_user = sorted(self.users.items(), key=lambda item: (-item[1], item[0]))
        return m.AuthSummary(
            failures=self.failures, successes=self.successes, sources=len(self.sources),
            by_source=[m.AuthSource(ip=ip, failures=s.failures, users=len(s.users), services=sorted(s.services),
                                    first=s.first, last=s.last) for ip, s in by_ip[:top]],
            by_user=[m.AuthUser(user=u, failures=n, sources=len(self.user_sources.get(u, ())))
                     for u, n in by_user[:top]],
            by_service=[m.AuthService(service=name, failures=v[0], successes=v[1])
                        for name, v in sorted(self.services.items(), key=lambda item: (-item[1][0], item[0]))],
            successes_after_failures=self.after_failures[:top],
        )  # fmt: skip
