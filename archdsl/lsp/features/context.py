"""Where the cursor is, from the text alone: completion is asked for while a line is being typed,
when the text does not parse (``conv(`` has no closing parenthesis yet).

:func:`scan` tokenises the text from the start of the definition the cursor is in (the nearest
line above that starts with ``block``, ``net`` or ``import``) up to the cursor, the way the
lexer does (strings, comments, names, numbers, operators), and keeps a stack of open brackets:
for each ``(`` the name it calls and the keyword arguments already given, for each ``{`` what it
opens (a definition's body, ``meta``, ``columns``, ``residual``). It also collects the names the
definition has bound so far: its parameters, its input, the tensors its statements assigned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archdsl.lsp.incremental import _ITEM_START

_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|->|[=!<>]=|//|\S'
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
CONSTRUCTS = ("columns", "residual", "shortcut", "meta")


@dataclass
class Frame:
    char: str  # ( [ {
    callee: str | None = None  # what a ( calls; what a { opens: body | meta | columns | residual | shortcut
    kwargs: set[str] = field(default_factory=set)
    keyword: str | None = None  # the keyword argument whose value is being written
    positional: int = 0  # positional arguments given before the cursor's
    _tokens: int = 0  # tokens of the argument being written
    header: bool = False  # the parameter list of a block or net


@dataclass
class Context:
    prefix: str  # the part of a name before the cursor
    stack: list[Frame]
    prev: str | None  # the token before the prefix
    prev_line: int  # its line (0-based, relative to the scanned text)
    line: int  # the cursor's line, likewise
    definition: str | None  # 'block' | 'net' | 'import'
    def_name: str | None
    extends: str | None
    params: list[str]
    tensors: list[str]
    inputs: list[str]
    in_comment: str | None = None  # the comment's text up to the cursor
    in_string: bool = False

    @property
    def top(self) -> Frame | None:
        return self.stack[-1] if self.stack else None


def definition_start(text: str, offset: int) -> int:
    """Offset of the start of the line that opens the definition around ``offset``."""
    line_start = text.rfind("\n", 0, offset) + 1
    pos = line_start
    while True:
        end = text.find("\n", pos)
        line = text[pos : end if end >= 0 else len(text)]
        if _ITEM_START.match(line):
            return pos
        if pos == 0:
            return 0
        pos = text.rfind("\n", 0, pos - 1) + 1


def scan(text: str, offset: int) -> Context:
    """The context of the cursor at ``offset`` of ``text`` (normalised)."""
    start = definition_start(text, offset)
    chunk = text[start:offset]
    m = _NAME.search(chunk)
    prefix = m.group() if m else ""
    body = chunk[: len(chunk) - len(prefix)]
    ctx = Context(prefix, [], None, 0, chunk.count("\n"), None, None, None, [], [], [])
    prev: str | None = None
    prev2: str | None = None
    last_closed: Frame | None = None
    line = 0
    at = 0
    for tm in _TOKEN.finditer(body):
        tok = tm.group()
        line += body.count("\n", at, tm.start())
        at = tm.start()
        if tok.startswith("#"):
            if tm.end() == len(body) and not prefix:
                ctx.in_comment = tok
            elif tm.end() == len(body):
                ctx.in_comment = tok + prefix
            continue
        if tok.startswith('"'):
            if tm.end() == len(body) and (len(tok) == 1 or not tok.endswith('"') or tok.endswith('\\"')):
                ctx.in_string = True
            prev2, prev = prev, tok
            ctx.prev_line = line
            continue
        top = ctx.stack[-1] if ctx.stack else None
        if ctx.definition is None and tok in ("block", "net", "import"):
            ctx.definition = tok
        elif ctx.def_name is None and prev in ("block", "net") and _NAME.match(tok):
            ctx.def_name = tok
        elif prev == "extends" and _NAME.match(tok):
            ctx.extends = tok
        if tok in "([{":
            f = Frame(tok)
            if tok == "(":
                if not ctx.stack and prev == ctx.def_name and prev2 in ("block", "net"):
                    f.header = True
                elif prev is not None and _NAME.match(prev):
                    f.callee = prev
            elif tok == "{":
                if not ctx.stack:
                    f.callee = "body"
                elif prev in CONSTRUCTS:
                    f.callee = prev
                elif prev == ")" and last_closed is not None and last_closed.callee in CONSTRUCTS:
                    f.callee = last_closed.callee
                else:
                    f.callee = "pipeline"
            ctx.stack.append(f)
        elif tok in ")]}":
            if ctx.stack:
                last_closed = ctx.stack.pop()
        elif top is not None and top.char == "(":
            if tok == "=" and prev is not None and _NAME.match(prev) and prev2 in ("(", ","):
                top.kwargs.add(prev)
                top.keyword = prev
            elif tok == ",":
                if top.keyword is None and top._tokens:
                    top.positional += 1
                top.keyword = None
                top._tokens = -1
            elif top.header and _NAME.match(tok) and prev in ("(", ","):
                ctx.params.append(tok)
        if top is not None and top.char == "(" and ctx.stack and ctx.stack[-1] is top:
            top._tokens += 1
        if top is not None and top.char == "{" and len(ctx.stack) == 1:
            if tok == "=" and prev is not None and _NAME.match(prev):
                ctx.tensors.append(prev)
            elif prev == "input" and _NAME.match(tok):
                ctx.inputs.append(tok)
        prev2, prev = prev, tok
        ctx.prev_line = line
    ctx.prev = prev
    return ctx
