"""KQL text → ast. A recursive-descent reading of Kibana's grammar (kuery.peg), rule for rule:

    start          = Space* OrQuery? Space*
    OrQuery        = AndQuery (Or AndQuery)*          Or  = Space+ 'or'i Space+
    AndQuery       = NotQuery (And NotQuery)*         And = Space+ 'and'i Space+
    NotQuery       = Not SubQuery / SubQuery          Not = 'not'i Space+
    SubQuery       = '(' Space* OrQuery Space* ')' / NestedQuery
    NestedQuery    = Field Space* ':' Space* '{' Space* OrQuery Space* '}' / Expression
    Expression     = Field Space* RangeOperator Space* Literal / Field Space* ':' Space* ListOfValues / Value
    ListOfValues   = '(' Space* OrListOfValues Space* ')' / Value     (with or/and/not of values)
    Value, Literal = QuotedString / UnquotedLiteral
    UnquotedLiteral: characters up to a special character [\\():<>"*{}] (escaped with `\\`) or a keyword
                   (so `cannot find` stops before `not `, as in Kibana); `*` is a wildcard; trimmed.

Precedence as Kibana's: not binds tighter than and, and tighter than or. A syntax error names the column."""

from __future__ import annotations

from collections.abc import Callable

from shipper.kql.ast import And, Is, MatchAll, Nested, Node, Not, Or, Range, Value

SPECIAL = set('\\():<>"*{}')
SPACE = " \t\r\n"
RANGE_OPERATORS = ("<=", ">=", "<", ">")


class KqlSyntaxError(ValueError):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"KQL syntax error at column {column}: {message}")
        self.column = column


def parse(text: str) -> Node:
    return _Parser(text).start()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.furthest = 0
        self.expected = "a query"

    # --- helpers ------------------------------------------------------------------------------------
    def fail(self, expected: str) -> None:
        if self.pos >= self.furthest:
            self.furthest, self.expected = self.pos, expected

    def spaces(self) -> int:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in SPACE:
            self.pos += 1
        return self.pos - start

    def keyword_at(self, pos: int, word: str, leading_space: bool) -> int:
        """End of `Space+ word Space+` (or `word Space+`) at pos, else -1."""
        i = pos
        if leading_space:
            while i < len(self.text) and self.text[i] in SPACE:
                i += 1
            if i == pos:
                return -1
        if self.text[i : i + len(word)].lower() != word:
            return -1
        j = i + len(word)
        k = j
        while k < len(self.text) and self.text[k] in SPACE:
            k += 1
        return k if k > j else -1

    def is_keyword(self, pos: int) -> bool:
        return any(self.keyword_at(pos, w, w != "not") >= 0 for w in ("or", "and", "not"))

    def literal_char(self, c: str) -> bool:
        return c not in SPECIAL

    def consume(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        self.fail(repr(token))
        return False

    # --- rules --------------------------------------------------------------------------------------
    def start(self) -> Node:
        self.spaces()
        if self.pos == len(self.text):
            return MatchAll()
        node = self.or_query()
        if node is not None:
            self.spaces()
        if node is None or self.pos != len(self.text):
            self.fail("end of query, `and` or `or`")
            column = self.furthest + 1
            found = self.text[self.furthest : self.furthest + 12] or "end of query"
            raise KqlSyntaxError(f"expected {self.expected}, found {found!r}", column)
        return node

    def _chain(self, word: str, item: Callable[[], Node | None], build: type[And] | type[Or]) -> Node | None:
        first = item()
        if first is None:
            return None
        children = [first]
        while True:
            end = self.keyword_at(self.pos, word, True)
            if end < 0:
                break
            saved = self.pos
            self.pos = end
            nxt = item()
            if nxt is None:
                self.pos = saved
                break
            children.append(nxt)
        if len(children) == 1:
            return children[0]
        return build(tuple(children))

    def or_query(self) -> Node | None:
        return self._chain("or", self.and_query, Or)

    def and_query(self) -> Node | None:
        return self._chain("and", self.not_query, And)

    def not_query(self) -> Node | None:
        end = self.keyword_at(self.pos, "not", False)
        if end >= 0:
            saved = self.pos
            self.pos = end
            sub = self.sub_query()
            if sub is not None:
                return Not(sub)
            self.pos = saved
        return self.sub_query()

    def sub_query(self) -> Node | None:
        saved = self.pos
        if self.text.startswith("(", self.pos):
            self.pos += 1
            self.spaces()
            inner = self.or_query()
            if inner is not None:
                self.spaces()
                if self.consume(")"):
                    return inner
            self.pos = saved
        return self.nested_query()

    def nested_query(self) -> Node | None:
        saved = self.pos
        field = self.literal()
        if field is not None:
            self.spaces()
            if self.consume(":"):
                self.spaces()
                if self.text.startswith("{", self.pos):
                    self.pos += 1
                    self.spaces()
                    inner = self.or_query()
                    if inner is not None:
                        self.spaces()
                        if self.consume("}"):
                            return Nested(field.text, inner)
        self.pos = saved
        return self.expression()

    def expression(self) -> Node | None:
        saved = self.pos
        field = self.literal()
        if field is not None:
            self.spaces()
            for operator in RANGE_OPERATORS:
                if self.text.startswith(operator, self.pos):
                    self.pos += len(operator)
                    self.spaces()
                    value = self.literal()
                    if value is not None:
                        return Range(field.text, operator, value)
                    break
            self.pos = saved
            field = self.literal()
            assert field is not None
            self.spaces()
            if self.text.startswith(":", self.pos):
                self.pos += 1
                self.spaces()
                values = self.list_of_values(field.text)
                if values is not None:
                    return values
            else:
                self.fail("`:` or a range operator")
        self.pos = saved
        value = self.value()
        if value is None:
            return None
        return Is(None, value)

    def list_of_values(self, field: str) -> Node | None:
        saved = self.pos
        if self.text.startswith("(", self.pos):
            self.pos += 1
            self.spaces()
            inner = self._value_chain("or", field)
            if inner is not None:
                self.spaces()
                if self.consume(")"):
                    return inner
            self.pos = saved
        value = self.value()
        if value is None:
            return None
        if not value.quoted and value.text == "*":
            return Is(field, None)  # field:* : the field exists
        return Is(field, value)

    def _value_chain(self, word: str, field: str) -> Node | None:
        item = (lambda: self._value_chain("and", field)) if word == "or" else (lambda: self.not_values(field))
        return self._chain(word, item, Or if word == "or" else And)

    def not_values(self, field: str) -> Node | None:
        end = self.keyword_at(self.pos, "not", False)
        if end >= 0:
            saved = self.pos
            self.pos = end
            inner = self.list_of_values(field)
            if inner is not None:
                return Not(inner)
            self.pos = saved
        return self.list_of_values(field)

    def value(self) -> Value | None:
        return self.literal()

    def literal(self) -> Value | None:
        if self.text.startswith('"', self.pos):
            return self.quoted()
        return self.unquoted()

    def quoted(self) -> Value | None:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                escaped = {"t": "\t", "r": "\r", "n": "\n", "\\": "\\", '"': '"'}.get(nxt)
                if escaped is not None:
                    out.append(escaped)
                    self.pos += 2
                    continue
            if c == '"':
                self.pos += 1
                return Value("".join(out), quoted=True)
            out.append(c)
            self.pos += 1
        self.pos = start
        self.fail('a closing `"`')
        return None

    def unquoted(self) -> Value | None:
        out: list[str] = []
        wildcard = False
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                if nxt in "trn":
                    out.append({"t": "\t", "r": "\r", "n": "\n"}[nxt])
                    self.pos += 2
                    continue
                if nxt in SPECIAL:
                    out.append("\\" + nxt if nxt == "*" else nxt)  # an escaped `*` is a literal star
                    self.pos += 2
                    continue
                word = next((w for w in ("or", "and", "not") if self.text[self.pos + 1 : self.pos + 1 + len(w)].lower()
                             == w), None)  # fmt: skip
                if word is not None:
                    out.append(self.text[self.pos + 1 : self.pos + 1 + len(word)])
                    self.pos += 1 + len(word)
                    continue
            if c == "*":
                out.append("*")
                wildcard = True
                self.pos += 1
                continue
            if c in SPECIAL or self.is_keyword(self.pos):
                break
            out.append(c)
            self.pos += 1
        text = "".join(out).strip()
        if not text:
            self.fail("a value")
            return None
        return Value(text, quoted=False, wildcard=wildcard)
