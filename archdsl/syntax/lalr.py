"""archdsl's own LALR(1) driver and contextual lexer: Lark's algorithm over the shipped tables, without Lark.

Importing Lark costs more than the whole parse of a typical spec, and its parser loop (a token
object, a lexer generator, a callback dict keyed by rule objects) most of the parse of a large one.
Lark stays the generator of the tables and the reference implementation: ``scripts/
gen_parser_tables.py`` reads the tables and the contextual lexer off a Lark parser
(:func:`archdsl.syntax.tables.runtime_tables`, written to ``grammars/arch_runtime.json``)
and this module replays them exactly:

* the lexer of each parser state is the one Lark's ``ContextualLexer`` made for it: the state's
  terminals plus the ignored ones, in Lark's order (priority, longest possible match, longest
  literal, name), the first alternative that matches wins, keywords folded into ``NAME`` and turned
  back into keywords by value (Lark's ``UnlessCallback``), line counting on newline-carrying
  terminals only;
* when a state's lexer matches nothing, the lexer of all terminals is tried at the same place, as
  Lark does: a token found there is an unexpected token (expected: what the state's lexer allows),
  else the character is unexpected;
* the parser loop is Lark's ``ParserState.feed_token``; the expected tokens of an error are what
  Lark's ``InteractiveParser.accepts`` says (each terminal of the state fed to a copy of the stack).

Each state's lexer is a regular expression that is compiled when first needed. Most tokens are
matched by one expression over all terminals in that same order: the first terminal it finds is
the one the state's lexer would find whenever the state's lexer has it (its terminals come in the
same order, a subset), and only otherwise is the state's own expression compiled and used.

``tests/test_parser_lalr.py`` compares tokens, ASTs and diagnostics with Lark's on every spec of
the repository and on mutated ones.
"""

from __future__ import annotations

import json
import re
from typing import Any

TABLES_FILE = "arch_tables.json"  # Lark's tables, in the package archdsl_grammars (grammars/)
RUNTIME_FILE = "arch_runtime.json"  # this module's, read off the parser those load into
TABLES_FORMAT = 1

__all__ = ["Runtime", "SyntaxFailure", "Token", "UnexpectedChars", "UnexpectedTok", "load_runtime"]


class Token:
    """A token as Lark makes it: type, text and positions (lines and columns 1-based, end exclusive)."""

    __slots__ = ("column", "end_column", "end_line", "end_pos", "line", "start_pos", "type", "value")

    def __init__(self, type_, value, start_pos, line, column, end_line=None, end_column=None, end_pos=None):
        self.type = type_
        self.value = value
        self.start_pos = start_pos
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        self.end_pos = end_pos

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


class SyntaxFailure(Exception):
    """A syntax error, with the attributes :func:`archdsl.syntax.errors.syntax_diagnostic` reads."""

    kind = ""


class UnexpectedChars(SyntaxFailure):
    """No terminal matches here (Lark's ``UnexpectedCharacters``)."""

    kind = "chars"

    def __init__(self, pos: int, line: int, column: int, allowed: set[str]):
        super().__init__(f"unexpected character at line {line} column {column}")
        self.pos_in_stream, self.line, self.column, self.allowed = pos, line, column, allowed


class UnexpectedTok(SyntaxFailure):
    """A token the parser cannot take here (Lark's ``UnexpectedToken``); ``accepts`` as Lark's."""

    kind = "token"

    def __init__(self, token: Token, expected: set[str], accepts: set[str]):
        super().__init__(f"unexpected token {token.value!r} at line {token.line} column {token.column}")
        self.token, self.expected, self.accepts = token, expected, accepts
        self.line, self.column, self.pos_in_stream = token.line, token.column, token.start_pos


class Terminal:
    """What error messages need of a terminal (the shape of Lark's ``TerminalDef``)."""

    __slots__ = ("name", "pattern")

    def __init__(self, name: str, kind: str, value: str):
        self.name = name
        self.pattern = _Pattern(kind, value)


class _Pattern:
    __slots__ = ("type", "value")

    def __init__(self, kind: str, value: str):
        self.type, self.value = kind, value


class _Lexer:
    """One of the contextual lexer's lexers: its terminals in order, compiled when first needed."""

    __slots__ = ("_re", "allowed", "info", "members", "names", "regexps")

    def __init__(self, spec: dict, regexps: dict[str, str]):
        self.names = spec["terminals"]
        self.members = frozenset(self.names)
        ignore, newline, unless = set(spec["ignore"]), set(spec["newline"]), spec["unless"]
        # per terminal: (ignored, carries newlines, keywords by text)
        self.info = {n: (n in ignore, n in newline, unless.get(n)) for n in self.names}
        self.allowed = (self.members - ignore) or {"<END-OF-FILE>"}
        self.regexps = regexps
        self._re = None

    def match(self, text: str, pos: int):
        if self._re is None:
            self._re = re.compile("|".join(f"(?P<{n}>{self.regexps[n]})" for n in self.names))
        return self._re.match(text, pos)


class Runtime:
    """The loaded tables: rules, states, lexers. One per process (:func:`load_runtime`)."""

    def __init__(self, doc: dict[str, Any]):
        self.rules: list[dict] = doc["rules"]
        self.states: list[dict[str, int]] = doc["states"]
        self.start: int = doc["start"]
        self.end: int = doc["end"]
        self.terminals = [Terminal(n, kind, value) for n, kind, value, _ in doc["terminals"]]
        regexps = {n: rx for n, _, _, rx in doc["terminals"]}
        lexers = [_Lexer(spec, regexps) for spec in doc["lexers"]]
        self.state_lexers = [lexers[i] for i in doc["state_lexers"]]
        self.root_lexer = lexers[doc["root_lexer"]]
        self._regexps = regexps
        self._order = [n for n, _, _, _ in doc["terminals"]]
        self._all = None
        self._unit_chains: dict[tuple[int, int, str], int] = {}

    def _all_re(self):
        if self._all is None:
            self._all = re.compile("|".join(f"(?P<{n}>{self._regexps[n]})" for n in self._order))
        return self._all

    # ---- errors -------------------------------------------------------------------------------

    def accepts(self, stack: list[int]) -> set[str]:
        """The terminals the parser can take with ``stack`` (Lark's ``InteractiveParser.accepts``)."""
        states, rules, end = self.states, self.rules, self.end
        out = set()
        for t in states[stack[-1]]:
            if not t.isupper():
                continue
            st = list(stack)
            is_end = t == "$END"
            while True:
                act = states[st[-1]].get(t)
                if act is None:
                    break
                if act >= 0:
                    if is_end:
                        raise AssertionError("the end of input shifted")
                    out.add(t)
                    break
                rule = rules[-1 - act]
                size = len(rule["expansion"])
                if size:
                    del st[-size:]
                st.append(states[st[-1]][rule["origin"]])
                if is_end and st[-1] == end:
                    out.add(t)
                    break
        return out

    def _unexpected_token(self, tok: Token, stack: list[int]) -> UnexpectedTok:
        expected = {s for s in self.states[stack[-1]] if s.isupper()}
        return UnexpectedTok(tok, expected, self.accepts(stack))

    def _lex_error(self, text: str, pos: int, line: int, line_start: int, lexer: _Lexer, stack: list[int]):
        """What Lark's contextual lexer raises when the state's lexer matches nothing at ``pos``."""
        allowed = lexer.allowed
        root = self.root_lexer
        while True:  # the lexer of all terminals, from the same place (Lark's root lexer)
            m = root.match(text, pos)
            if m is None:
                return UnexpectedChars(pos, line, pos - line_start + 1, allowed)
            type_, value = m.lastgroup, m.group()
            ignored, newline, words = root.info[type_]
            end_line, end_start = line, line_start
            if newline and "\n" in value:
                end_line += value.count("\n")
                end_start = pos + value.rindex("\n") + 1
            if not ignored:
                end = pos + len(value)
                tok = Token(type_, value, pos, line, pos - line_start + 1, end_line, end - end_start + 1, end)
                if words is not None:
                    tok.type = words.get(value, type_)
                return UnexpectedTok(tok, set(allowed), self.accepts(stack))
            pos, line, line_start = pos + len(value), end_line, end_start

    def _units(self, below: int, top: int, ttype: str, reduce_info: list) -> int:
        """The top state after the one-symbol reductions in a row from ``top`` (over ``below``)
        before token type ``ttype``: as many as Lark's loop makes, one at a time."""
        states = self.states
        while True:
            act = states[top].get(ttype)
            if act is None or act >= 0 or reduce_info[-1 - act][1] is not None or top == self.end:
                return top
            top = states[below][reduce_info[-1 - act][2]]

    # ---- parsing --------------------------------------------------------------------------------

    def parse(self, text: str, callbacks: list, on_token=None) -> Any:
        """Parse ``text``; ``callbacks[i]`` makes the value of rule ``i`` from its children's values,
        or is None for a rule of one symbol whose value is that symbol's. Raises :class:`SyntaxFailure`.
        ``on_token`` (optional) is called with every token the parser takes, in order."""
        states = self.states
        state_lexers = self.state_lexers
        reduce_info = [(len(r["expansion"]), cb, r["origin"]) for r, cb in zip(self.rules, callbacks, strict=True)]
        by_action = reduce_info[::-1]  # reduce actions are -1 - rule: by_action[act] is the rule's
        all_match = self._all_re().match
        end_state = self.end
        stack = [self.start]
        values: list = []
        state = self.start
        pos, line, line_start, n = 0, 1, 0, len(text)
        tok = None
        is_end = False
        units = self._unit_chains
        while True:
            # ---- the next token, by the lexer of this state (Lark's BasicLexer.next_token)
            lexer = state_lexers[state]
            info = lexer.info
            while True:
                if pos >= n:
                    tok = Token("$END", "", tok.start_pos, tok.line, tok.column, tok.end_line, tok.end_column,
                                tok.end_pos) if tok is not None else Token("$END", "", 0, 1, 1)  # fmt: skip
                    is_end = True
                    break
                m = all_match(text, pos)
                inf = info.get(m.lastgroup) if m is not None else None
                if inf is None:  # not this state's first terminal: its own expression decides
                    m = lexer.match(text, pos)
                    if m is None:
                        raise self._lex_error(text, pos, line, line_start, lexer, stack)
                    inf = info[m.lastgroup]
                ignored, newline, words = inf
                value = m.group()
                start = pos
                pos = m.end()
                col = start - line_start + 1
                if newline and "\n" in value:
                    start_line = line
                    line += value.count("\n")
                    line_start = start + value.rindex("\n") + 1
                    if ignored:
                        continue
                    tok = Token(m.lastgroup, value, start, start_line, col, line, pos - line_start + 1, pos)
                elif ignored:
                    continue
                else:
                    tok = Token(m.lastgroup, value, start, line, col, line, col + pos - start, pos)
                if words is not None:
                    tok.type = words.get(value, tok.type)
                break
            if on_token is not None and not is_end:
                on_token(tok)
            # ---- feed it (Lark's ParserState.feed_token)
            ttype = tok.type
            while True:
                act = states[state].get(ttype)
                if act is None:
                    raise self._unexpected_token(tok, stack)
                if act >= 0:
                    if is_end:
                        raise AssertionError("the end of input shifted")
                    stack.append(act)
                    values.append(tok)
                    state = act
                    break
                size, cb, origin = by_action[act]
                if cb is None:  # one symbol, its value stays: only the top state changes, and a
                    # chain of such reductions (an atom up to an expression) depends only on the
                    # state below, the top state and the token: followed once, then remembered
                    key = (stack[-2], state, ttype)
                    top = units.get(key)
                    if top is None:
                        top = units[key] = self._units(stack[-2], state, ttype, reduce_info)
                    state = stack[-1] = top
                else:
                    if size:
                        children = values[-size:]
                        del stack[-size:]
                        del values[-size:]
                    else:
                        children = []
                    values.append(cb(children))
                    state = states[stack[-1]][origin]
                    stack.append(state)
                if is_end and state == end_state:
                    return values[-1]


def load_runtime() -> Runtime:
    """The runtime tables shipped in ``grammars/arch_runtime.json`` when they were made from the
    grammar that is installed (its sha256; the Lark version does not matter: nothing of Lark runs);
    else (an edited grammar, a damaged file) read off a parser Lark builds in memory."""
    from archdsl_grammars import grammar_text, read_text

    grammar = grammar_text()
    try:
        doc = json.loads(read_text(RUNTIME_FILE))
        if doc.get("format") == TABLES_FORMAT and doc.get("grammar_sha256") == _sha256(grammar):
            return Runtime(doc["runtime"])
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        pass  # missing or damaged: build instead
    from archdsl.syntax.tables import make_parser, runtime_tables

    return Runtime(runtime_tables(make_parser()))


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()
