"""Suppression comments in spec files.

* ``# archdsl: noqa AD102`` (also ``noqa: AD102, AR203``) at the end of a line suppresses those
  codes for findings that start on that line; a code prefix (``AD``) suppresses the family.
* ``# archdsl: noqa`` without codes suppresses every finding on the line.
* ``# archdsl: noqa-file AD101`` anywhere in a file suppresses those codes in the whole file.

A finding inside a block of another file (the standard library, say) is reported at the call in
this file, so that is the line that takes the comment. A directive, or a code in it, that
suppresses nothing is itself a finding (AQ001); text after the codes is free commentary.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from archdsl.diagnostics import Span

DIRECTIVE_RE = re.compile(r"#\s*archdsl\s*:\s*noqa(?P<file>-file)?\b:?(?P<rest>.*)$", re.I)
CODE_TOKEN_RE = re.compile(r"[A-Z]{2}[0-9]{0,3}")


@dataclass
class Directive:
    line: int
    span: Span
    codes: tuple[str, ...] | None  # None: a blanket noqa (every code)
    file_level: bool = False
    used: set[str] = field(default_factory=set)  # the codes (or "*") that suppressed something

    def matches(self, code: str) -> str | None:
        """The first token of this directive that covers ``code`` (the code or a prefix of it), or None.

        Looks up each prefix of the code instead of trying each token, so a directive with
        thousands of codes costs no more per finding than one with a single code.
        """
        if self.codes is None:
            return "*"
        first = self._first
        best = None
        for k in range(len(code) + 1):
            i = first.get(code[:k])
            if i is not None and (best is None or i < best):
                best = i
        return None if best is None else self.codes[best]

    @functools.cached_property
    def _first(self) -> dict[str, int]:
        """Each token and the position of its first occurrence."""
        out: dict[str, int] = {}
        for i, tok in enumerate(self.codes or ()):
            out.setdefault(tok, i)
        return out


def _comment_start(line: str) -> int | None:
    """Index of the '#' that starts a comment, skipping '#' inside string literals."""
    in_str = False
    i = 0
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "#":
            return i
        i += 1
    return None


def _codes(rest: str) -> tuple[str, ...] | None:
    codes: list[str] = []
    for tok in re.split(r"[\s,]+", rest.strip()):
        if not tok:
            continue
        if CODE_TOKEN_RE.fullmatch(tok):
            codes.append(tok)
        else:
            break  # free text after the codes
    return tuple(codes) or None


def parse_directives(text: str, file: str) -> list[Directive]:
    out: list[Directive] = []
    for n, line in enumerate(text.splitlines(), 1):
        if "noqa" not in line:
            continue
        start = _comment_start(line)
        if start is None:
            continue
        m = DIRECTIVE_RE.search(line, start)
        if not m:
            continue
        span = Span(file, n, m.start() + 1, n, len(line.rstrip()) + 1)
        out.append(Directive(n, span, _codes(m.group("rest")), file_level=bool(m.group("file"))))
    return out
