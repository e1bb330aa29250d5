"""Line → event: envelope, dispatch by program to a pack, one combined regex per (pack, daemon)."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shipper.core.event import nest
from shipper.parse.assemble import Assembler, DerivePlan, build_assembler, split_all
from shipper.parse.envelope import HINT_PROGRAMS, TAI64N_PROGRAM, Envelope, EnvelopeParser
from shipper.parse.packs import Derive, Expansion, Pack, PackError, Rule, load_packs
from shipper.parse.reasons import annotate, annotate_flat
from shipper.parse.timestamps import TimestampConverter, resolve_timezone
from shipper.schema.fields import Convert, FieldTypeError, coercer, load_fields

OTHER_DATASET = "mail.other"
# Messages longer than this are not tried against rules: no genuine MTA record is this long (Postfix caps
# its own at 2000 characters, syslog daemons at 8 KiB), and backtracking on a garbage line of 64 KiB could
# cost seconds. Such a line is kept whole and tagged `unparsed` and `oversized`.
MAX_RULE_INPUT = 16 * 1024
_MISSING: Any = object()
_MULTILOG_PROGRAM = re.compile(r"([A-Za-z][\w.-]*(?:\([^)]*\))?)(?:\[(\d+)\])?: ")
UNPARSED = "unparsed"
GENERIC = "generic"  # taken only by a pack's catch-all rule: kept, but next to nothing extracted


def detect_source(path: Path | str, packs: list[Pack] | tuple[Pack, ...]) -> str | None:
    """The source whose pack's `paths` globs match the file (its full path or its name), if any."""
    text = str(path)
    name = os.path.basename(text)
    for pack in packs:
        if any(fnmatch.fnmatch(text, glob) or fnmatch.fnmatch(name, glob) for glob in pack.paths):
            return pack.source
    return None


def _converter(field_name: str) -> Convert:
    definition = load_fields()[field_name]
    if definition.type in ("keyword", "text", "wildcard") and not definition.array:
        return None  # strings stay strings: skip the call on the hot path
    return coercer(field_name)


@dataclass(slots=True)
class Parsed:
    """A parsed line: dotted ECS fields, the rule that matched (None when unparsed) and its dataset."""

    fields: dict[str, Any]
    rule: str | None
    dataset: str
    rule_fields: dict[str, Any] | None = None


@dataclass(slots=True)
class _CompiledRule:
    rule: Rule
    captures: tuple[tuple[str, str, Convert], ...]
    event: dict[str, Any]
    rule_set: dict[str, Any]
    derives: tuple[DerivePlan, ...]
    key: tuple[str, str | None]  # (dataset, rule id), for coverage counting


@dataclass(slots=True)
class _Matcher:
    regex: re.Pattern[str]
    rules: dict[str, _CompiledRule]


@dataclass(slots=True)
class _Route:
    pack: Pack
    fields: dict[str, Any]
    matcher: _Matcher
    defaults: tuple[tuple[str, Any], ...]
    # by rule group name, built on first use: (assembler or None for the generic path, coverage key)
    assemblers: dict[str, tuple[Assembler | None, tuple[str, str | None], bool]] = field(default_factory=dict)
    match: Callable[[str], re.Match[str] | None] = field(init=False)

    def __post_init__(self) -> None:
        self.match = self.matcher.regex.match


@dataclass
class _PackRuntime:
    pack: Pack
    programs: re.Pattern[str]
    program_captures: tuple[tuple[str, str, Convert], ...]
    messages: re.Pattern[str] | None = None  # the pack's `messages`: claims lines of unclaimed programs by content
    matchers: dict[str, _Matcher] = field(default_factory=dict)


def _captures(exp: Expansion, aliases: list[str]) -> tuple[tuple[str, str, Convert], ...]:
    return tuple((a, exp.groups[a], _converter(exp.groups[a])) for a in aliases)


def rule_event_fields(rule: Rule) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event.category": list(rule.event.category),
        "event.type": list(rule.event.type),
        "event.action": rule.event.action,
    }
    if rule.event.outcome:
        event["event.outcome"] = rule.event.outcome
    return event


def rule_set_fields(pack: Pack, rule: Rule) -> dict[str, Any]:
    fields = load_fields()
    static: dict[str, Any] = {}
    for name, value in rule.set.items():
        if name not in fields:
            raise PackError(f"{pack.path}: rule {rule.id!r}: `set` names unknown field {name!r}")
        static[name] = coercer(name)(value)
    return static


class Parser:
    """Compiles the packs (lazily, per daemon and rule) once; `parse_doc` is the hot path, `parse` the
    reference semantics with the flat fields and what the rule produced (used by pack examples)."""

    def __init__(
        self,
        packs: tuple[Pack, ...] | None = None,
        *,
        timezone: str | None = None,
        reference: date | None = None,
        source: str | None = None,
    ) -> None:
        all_packs = packs if packs is not None else load_packs()
        if source is not None:
            chosen = [p for p in all_packs if p.source == source]
            if not chosen:
                known = ", ".join(sorted(p.source for p in all_packs))
                raise ValueError(f"unknown source {source!r} (known: {known})")
            all_packs = tuple(chosen)
        self.forced = all_packs[0] if source is not None else None
        self.packs = [self._runtime(p) for p in all_packs]
        self.claims_by_content = any(r.messages is not None for r in self.packs)
        self.timestamps = TimestampConverter(resolve_timezone(timezone), reference or date.today())
        self.envelope = EnvelopeParser(self.timestamps)
        self.by_path: _PackRuntime | None = None  # the pack a file's path names (see `set_input`)
        self.owns_file = False  # that pack's `own_files`: every line of the file is the pack's
        self._route_caches: dict[str | None, dict[str | None, _Route | None]] = {None: {}}
        self._routes: dict[str | None, _Route | None] = self._route_caches[None]
        self._content_routes: dict[tuple[str, str | None], _Route] = {}
        self.set_path_source(None)

    def set_input(self, path: Path | str | None) -> None:
        """The file the next lines come from: a pack whose `paths` match it takes the lines no pack claims
        by program (Exim's mainlog, Zimbra's mailbox.log, freshclam.log: no syslog program)."""
        self.set_path_source(None if self.forced or path is None else detect_source(path, [r.pack for r in self.packs]))

    def set_path_source(self, source: str | None) -> None:
        if source is None and self.forced is not None and self.forced.own_files:
            source = self.forced.source  # `--source exim` on stdin: the lines are of the pack's own files
        runtime = next((r for r in self.packs if r.pack.source == source), None) if source else None
        if runtime is not self.by_path:
            self.by_path = runtime
            self.owns_file = runtime is not None and runtime.pack.own_files
            self._routes = self._route_caches.setdefault(source, {})

    def _absorb(self, line: str, program: str | None, message: str) -> str | None:
        """In a file its pack owns (Dovecot's log_path), a `prog[pid]: ` the envelope took for a syslog
        program is the source's own prefix (`imap-login: `, `lmtp(bob)<12><sid:R2>: `): give it back to
        the message, as the line wrote it, unless the pack claims it as a program."""
        runtime = self.by_path
        if program is None or program in HINT_PROGRAMS or runtime is None:
            return None
        m = runtime.programs.fullmatch(program)
        daemon = m is not None and any(
            name == "mail.daemon" and m.group(alias) for alias, name, _ in runtime.program_captures
        )
        if daemon:
            return None  # the pack's daemon itself (`dovecot[1]:`), not a service it names in its own files
        start = line.rfind(program, 0, len(line) - len(message))
        return line[start:] if start >= 0 else None

    def _multilog(self, env: Envelope) -> None:
        """A multilog line is qmail's when qmail's rules know it, or its file is qmail's; when what follows the
        stamp is `program[pid]: ` of a program another pack claims (Dovecot's `imap-login:`, `dovecot-auth:`),
        that program decides; any other line has no program (dnscache, tinydns, a service of no pack)."""
        m = _MULTILOG_PROGRAM.match(env.message)
        multilog = self._route(TAI64N_PROGRAM)
        if m is None:
            if self.by_path is None and not self._specific(multilog, env.message):
                env.program = None  # dnscache, a service of no pack: not qmail's
            return
        route = self._route(m.group(1))
        if route is not None and (multilog is None or route.pack is not multilog.pack):
            env.program, env.message = m.group(1), env.message[m.end() :]
            env.pid = int(m.group(2)) if m.group(2) else None

    def set_reference(self, reference: date) -> None:
        """Change the date year-less timestamps are placed before (a file's mtime, or today)."""
        if reference != self.timestamps.years.latest - timedelta(days=1):
            self.timestamps = TimestampConverter(self.timestamps.tz, reference)
            self.envelope = EnvelopeParser(self.timestamps)

    # -- compilation --------------------------------------------------------------------------------

    @staticmethod
    def _runtime(pack: Pack) -> _PackRuntime:
        exp = Expansion(pack.patterns, f"{pack.path}: programs")
        text = exp.expand(pack.programs)
        messages = re.compile(pack.messages) if pack.messages else None
        return _PackRuntime(pack, re.compile(text), _captures(exp, list(exp.groups)), messages)

    def _matcher(self, runtime: _PackRuntime, daemon: str) -> _Matcher:
        matcher = runtime.matchers.get(daemon)
        if matcher is not None:
            return matcher
        pack = runtime.pack
        exp = Expansion(pack.patterns, f"{pack.path}")
        prefix = exp.expand(pack.prefix)
        prefix_aliases = list(exp.groups)
        parts: list[str] = []
        compiled: dict[str, _CompiledRule] = {}
        for index, rule in enumerate(pack.rules):
            if rule.daemons and daemon not in rule.daemons:
                continue
            exp.where = f"{pack.path}: rule {rule.id!r}"
            before = set(exp.groups)
            body = exp.expand(rule.match)
            own = [a for a in exp.groups if a not in before]
            name = f"r{index}"
            # The empty group closes the alternative (m.lastgroup names the rule) and stays out of its way:
            # an alternative that starts with a literal is then skipped by the regex engine in one step.
            parts.append(f"(?:{body})(?P<{name}>)")
            compiled[name] = _CompiledRule(
                rule,
                _captures(exp, own + prefix_aliases),
                rule_event_fields(rule),
                rule_set_fields(pack, rule),
                tuple(self._derive(pack, rule, d) for d in rule.derive),
                (pack.dataset, rule.id),
            )
        if not parts:
            parts.append("(?!)")
        text = f"(?>{prefix})(?:{'|'.join(parts)})" + r"\Z"
        try:
            regex = re.compile(text)
        except re.error as exc:
            raise PackError(f"{pack.path}: daemon {daemon!r}: rules do not compile: {exc}") from None
        matcher = _Matcher(regex, compiled)
        runtime.matchers[daemon] = matcher
        return matcher

    @staticmethod
    def _derive(pack: Pack, rule: Rule, spec: Derive) -> DerivePlan:
        where = f"{pack.path}: rule {rule.id!r}: derive"
        fields = load_fields()
        for name in (spec.source, spec.to):
            if name is not None and name not in fields:
                raise PackError(f"{where}: unknown field {name!r}")
        if spec.findall is not None:
            assert spec.to is not None
            return DerivePlan(spec.source, spec.to, None, None, (), re.compile(spec.findall), coercer(spec.to))
        if spec.pattern is None:
            return DerivePlan(spec.source, spec.to, spec.map, None, ())
        exp = Expansion(pack.patterns, where)
        regex = re.compile(exp.expand(spec.pattern))
        return DerivePlan(spec.source, None, None, regex, _captures(exp, list(exp.groups)))

    # -- routing ------------------------------------------------------------------------------------

    def _route(self, program: str | None) -> _Route | None:
        if program in self._routes:
            return self._routes[program]
        route = None
        for runtime in self.packs:
            m = runtime.programs.fullmatch(program) if program is not None else None
            if m is None and runtime.pack is not self.forced:
                continue
            fields: dict[str, Any] = {}
            if m is not None and program not in HINT_PROGRAMS:  # a hint is not a program the line named
                for alias, name, convert in runtime.program_captures:
                    value = m.group(alias)
                    if value is not None:
                        fields[name] = convert(value) if convert else value
            route = self._new_route(runtime, fields, str(fields.get("mail.daemon", program or "")))
            break
        if self.by_path is not None and (route is None or program in HINT_PROGRAMS):
            route = self._new_route(self.by_path, {}, program or "")
        if len(self._routes) < 4096:
            self._routes[program] = route
        return route

    def _by_content(self, program: str | None, message: str) -> _Route | None:
        """The pack whose `messages` claims a line no pack claims by program (cached per pack and program)."""
        for runtime in self.packs:
            if runtime.messages is not None and runtime.messages.match(message):
                key = (runtime.pack.source, program)
                route = self._content_routes.get(key)
                if route is None:
                    route = self._new_route(runtime, {}, program or "")
                    if len(self._content_routes) < 4096:
                        self._content_routes[key] = route
                return route
        return None

    def _specific(self, route: _Route | None, message: str) -> bool:
        """Whether a specific (not catch-all) rule of the route takes the message."""
        if route is None or len(message) > MAX_RULE_INPUT:
            return False
        m = route.match(message)
        return m is not None and not self._generic(route, m)

    @staticmethod
    def _generic(route: _Route, m: re.Match[str]) -> bool:
        return route.matcher.rules[m.lastgroup].rule.generic  # type: ignore[index]

    def _rescue(
        self, route: _Route, m: re.Match[str] | None, program: str | None, message: str
    ) -> tuple[_Route, re.Match[str] | None]:
        """A line its program's pack takes only by a catch-all (or not at all) goes to a pack that claims it
        by content and has a specific rule for it: Courier's `imapd` is not Cyrus' `imapd`."""
        other = self._by_content(program, message)
        if other is None or other.pack is route.pack:
            return route, m
        found = other.matcher.regex.match(message)
        if found is not None and not self._generic(other, found):
            return other, found
        return route, m

    def _new_route(self, runtime: _PackRuntime, fields: dict[str, Any], daemon: str) -> _Route:
        defaults = tuple((k, coercer(k)(v)) for k, v in runtime.pack.defaults.items())
        return _Route(runtime.pack, fields, self._matcher(runtime, daemon), defaults)

    # -- the hot path -------------------------------------------------------------------------------

    def parse_doc(self, line: str, tags: list[str] | None = None) -> tuple[dict[str, Any], tuple[str, str | None]]:
        """The nested event and (dataset, matching rule id or None): the fast path of `parse`."""
        env: Envelope | None = None
        plain = self.envelope.plain(line)
        if plain is None:
            env = self.envelope.parse(line)
            if env is not None and env.program == TAI64N_PROGRAM:
                self._multilog(env)
            if env is not None and not env.extra:
                plain = (env.timestamp, env.zone, env.host, env.program, env.pid, env.message)
        if self.owns_file and plain is not None and (absorbed := self._absorb(line, plain[3], plain[5])):
            plain = (plain[0], plain[1], plain[2], None, None, absorbed)
            env = None
        if plain is not None and len(plain[5]) <= MAX_RULE_INPUT:
            route = self._routes.get(plain[3], _MISSING)
            if route is _MISSING:
                route = self._route(plain[3])
            if route is None and self.claims_by_content:
                route = self._by_content(plain[3], plain[5])
            if route is not None:
                m = route.match(plain[5])
                if self.claims_by_content and (m is None or self._generic(route, m)):
                    route, m = self._rescue(route, m, plain[3], plain[5])
                if m is not None:
                    fast = route.assemblers.get(m.lastgroup)
                    if fast is None:
                        fast = self._assembler(route, m.lastgroup)
                    if fast[0] is not None:
                        if fast[2]:
                            tags = [*(tags or ()), GENERIC]
                        return annotate(fast[0](plain, line, m, tags)), fast[1]
        if env is None and plain is not None:
            env = Envelope(*plain)
        parsed = self._parse(line, env, tags)
        return annotate(nest(parsed.fields)), (parsed.dataset, parsed.rule)

    def _assembler(self, route: _Route, name: str) -> tuple[Assembler | None, tuple[str, str | None], bool]:
        compiled = route.matcher.rules[name]
        groupindex = route.matcher.regex.groupindex
        assemble = build_assembler(
            route.pack.dataset,
            route.fields,
            compiled.event,
            compiled.rule_set,
            tuple((groupindex[alias], field, convert) for alias, field, convert in compiled.captures),
            compiled.derives,
            route.defaults,
        )
        fast = route.assemblers[name] = (assemble, compiled.key, compiled.rule.generic)
        return fast

    def parse(self, line: str, tags: list[str] | None = None) -> Parsed:
        """Flat dotted fields, with what the matching rule itself produced: the reference semantics."""
        env = self.envelope.parse(line)
        if env is not None and env.program == TAI64N_PROGRAM:
            self._multilog(env)
        if self.owns_file and env is not None and (absorbed := self._absorb(line, env.program, env.message)):
            env.program, env.pid, env.message = None, None, absorbed
        parsed = self._parse(line, env, tags)
        annotate_flat(parsed.fields)
        return parsed

    def _parse(self, line: str, env: Envelope | None, tags: list[str] | None) -> Parsed:
        out: dict[str, Any] = {}
        if env is None:
            message = line
            out["message"] = message
            tags = [*(tags or ()), "no_envelope"]
            route = self._route(None) if self.forced or self.by_path else None
        else:
            message = env.message
            out["@timestamp"] = env.timestamp
            out["message"] = message
            route = self._route(env.program)
            if route is None and self.claims_by_content:
                route = self._by_content(env.program, message)
            elif route is not None and self.claims_by_content and len(message) <= MAX_RULE_INPUT:
                m = route.matcher.regex.match(message)
                if m is None or self._generic(route, m):
                    route = self._rescue(route, m, env.program, message)[0]
        dataset = route.pack.dataset if route else OTHER_DATASET
        out["event.kind"] = "event"
        out["event.dataset"] = dataset
        if env is not None:
            out.update(env.fields())
        rule_id = None
        produced = None
        if route is not None:
            out.update(route.fields)
            if len(message) > MAX_RULE_INPUT:
                tags = [*(tags or ()), "oversized"]
                m = None
            else:
                m = route.matcher.regex.match(message)
            if m is not None:
                compiled = route.matcher.rules[m.lastgroup]  # type: ignore[index]
                rule_id = compiled.rule.id
                if compiled.rule.generic:
                    tags = [*(tags or ()), GENERIC]
                produced, error = self._apply(compiled, m, out)
                if error:
                    out["error.message"] = error
                    tags = [*(tags or ()), "type_error"]
            for name, value in route.defaults:
                if name not in out:
                    out[name] = value
        if rule_id is None:
            tags = [*(tags or ()), UNPARSED]
        if tags:
            out["tags"] = tags
        out["event.original"] = line
        if out.get("@timestamp") is None:
            out.pop("@timestamp", None)
        return Parsed(out, rule_id, dataset, produced)

    @staticmethod
    def _apply(compiled: _CompiledRule, m: re.Match[str], out: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Set the rule's fields on `out`; return what the rule itself produced and any type errors."""
        errors: list[str] = []
        produced: dict[str, Any] = {}
        for alias, name, convert in compiled.captures:
            value = m.group(alias)
            if value is None or name in produced:
                continue
            try:
                produced[name] = convert(value) if convert else value
            except FieldTypeError as exc:
                errors.append(f"{name}: {exc}")
        for name, value in compiled.rule_set.items():
            produced.setdefault(name, value)
        for derive in compiled.derives:
            source = produced.get(derive.source)
            if source is None:
                continue
            if derive.regex is not None:
                dm = derive.regex.search(str(source))
                if dm is None:
                    continue
                for alias, name, convert in derive.captures:
                    value = dm.group(alias)
                    if value is not None and name not in produced:
                        try:
                            produced[name] = convert(value) if convert else value
                        except FieldTypeError as exc:
                            errors.append(f"{name}: {exc}")
            elif derive.findall is not None:
                if derive.to not in compiled.event and (derive.to == derive.source or derive.to not in produced):
                    found = split_all(derive, source)
                    if found is not None:
                        produced[derive.to] = found  # type: ignore[index]
            elif derive.to is not None and derive.to not in produced and derive.to not in compiled.event:
                if derive.mapping is None:
                    produced[derive.to] = source
                elif (key := str(source)) in derive.mapping:
                    produced[derive.to] = derive.mapping[key]
        out.update(compiled.event)
        out.update(produced)
        return produced, "; ".join(errors) or None
