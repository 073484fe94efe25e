"""Reading lint configuration files (pyproject.toml, archdsl.toml) as the hostile inputs they may be.

A configuration file is an input like a spec: it is read with :func:`archdsl.fileio.read_input`
(a regular file only, so a FIFO or ``/dev/zero`` given as ``--config`` is refused at once, and at
most :data:`MAX_CONFIG_BYTES` bytes), recorded as an input (so ``lint -o`` cannot overwrite it),
and checked before :mod:`tomllib` sees it for the two shapes that hurt that parser: nesting that
makes it recurse past Python's limit, and dotted keys with thousands of parts, whose cost grows
with the square of their length. Every problem, a TOML syntax error included, is a
:class:`ConfigError` located at its line and column.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from archdsl.fileio import InputError, read_input

__all__ = ["CONFIG_HELP", "MAX_CONFIG_BYTES", "ConfigError", "check_toml_shape", "read_toml"]

#: the largest configuration file read (a pyproject.toml is a few kilobytes)
MAX_CONFIG_BYTES = 1 << 20
#: deepest nesting of arrays and inline tables (tomllib recurses once per level)
MAX_TOML_DEPTH = 64
#: most parts of one dotted key or table name
MAX_KEY_PARTS = 64
CONFIG_HELP = "see the Configuration section of docs/lint.md"


class ConfigError(Exception):
    """The configuration is invalid (a usage error: exit code 2).

    ``file``, ``line`` and ``col`` locate it when known (``line`` 0: not located), ``source_line``
    is the text of that line (for the caret) and ``help`` a hint.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int = 0,
        col: int = 0,
        source_line: str | None = None,
        help: str | None = None,
    ):
        super().__init__(f"{file}:{line}:{col}: {message}" if file and line > 0 else message)
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        self.source_line = source_line
        self.help = help

    def render(self, prog: str = "archdsl lint") -> str:
        """As the compiler shows errors: ``file:line:col: error: ...``, the line, a caret, the help."""
        if not (self.file and self.line > 0):
            out = [f"{prog}: error: {self.message}"]
        else:
            out = [f"{self.file}:{self.line}:{self.col}: error: {self.message}"]
            if self.source_line is not None:
                num = str(self.line)
                pad = " " * len(num)
                src = _printable(self.source_line)[:200]
                col = min(max(self.col - 1, 0), len(src))
                out += [f"{pad} |", f"{num} | {src}", f"{pad} | {' ' * col}^"]
        out.append(f"  = help: {self.help or CONFIG_HELP}")
        return "\n".join(out) + "\n"


def _printable(line: str) -> str:
    """The line with tabs as one space (so the caret lines up) and control characters escaped."""
    line = line.replace("\t", " ")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


def _line_of(text: str, line: int) -> str | None:
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return None
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)].rstrip("\r")


def _located(text: str, label: str, offset: int, message: str, help: str | None) -> ConfigError:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return ConfigError(message, file=label, line=line, col=col, source_line=_line_of(text, line), help=help)


_STRUCT = re.compile(r"\"\"\"|'''|[\"'#\[\]{}=,.\n]")
_BASIC_STOP = re.compile(r"[\\\"\n]")


def _skip_string(text: str, i: int, quote: str) -> int:
    """The index just after the TOML string whose opening ``quote`` ends at index ``i``.

    An unterminated string stops at the end of its line (single-line kinds) or of the text; the
    parser reports it afterwards.
    """
    n = len(text)
    if quote == "'":
        j = text.find("'", i)
        nl = text.find("\n", i)
        if j < 0 or 0 <= nl < j:
            return nl if nl >= 0 else n
        return j + 1
    if quote == "'''":
        j = text.find("'''", i)
        if j < 0:
            return n
        end = j + 3
    else:
        pos = i
        while True:
            m = _BASIC_STOP.search(text, pos)
            if m is None:
                return n
            c = m.group()
            if c == "\\":
                pos = m.end() + 1  # an escape: skip the escaped character
            elif c == "\n":
                if quote == '"':
                    return m.start()
                pos = m.end()
            elif quote == '"':
                return m.end()
            elif text.startswith('"""', m.start()):
                end = m.start() + 3
                break
            else:
                pos = m.end()
    extra = 0  # up to two quotes just before the closing delimiter belong to the string
    while end < n and text[end] == quote[0] and extra < 2:
        end += 1
        extra += 1
    return end


def check_toml_shape(text: str, label: str) -> None:
    """Refuse TOML nested deeper than :data:`MAX_TOML_DEPTH` or with keys of too many parts.

    One pass over the text, strings and comments skipped: brackets and braces count the
    nesting, dots between two of ``= , [ ] { }`` or line ends count the parts of a key (a value
    such as ``1.5`` has one).
    """
    depth = 0
    parts = 0
    i = 0
    n = len(text)
    while i < n:
        m = _STRUCT.search(text, i)
        if m is None:
            return
        tok = m.group()
        i = m.end()
        if tok in ('"', "'", '"""', "'''"):
            i = _skip_string(text, i, tok)
        elif tok == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
        elif tok in "[{":
            depth += 1
            parts = 0
            if depth > MAX_TOML_DEPTH:
                raise _located(
                    text,
                    label,
                    m.start(),
                    f"arrays and tables nested more than {MAX_TOML_DEPTH} deep",
                    "a lint configuration needs a few levels of nesting; flatten it",
                )
        elif tok == ".":
            parts += 1
            if parts >= MAX_KEY_PARTS:
                raise _located(
                    text,
                    label,
                    m.start(),
                    f"a dotted key or table name of more than {MAX_KEY_PARTS} parts",
                    "lint configuration keys have a few parts ([tool.archdsl.lint.rules.AD101])",
                )
        else:  # ] } = , or a line end: a key or value ends
            if tok in "]}":
                depth = max(depth - 1, 0)
            parts = 0


_INPUT_HELP = {
    "special": "a configuration is a TOML file (pyproject.toml or archdsl.toml)",
    "directory": "name a TOML file, not a folder",
    "too_large": f"configuration files are limited to {MAX_CONFIG_BYTES // 1024} KiB",
}


def read_toml(path: Path, label: str | None = None) -> dict[str, Any]:
    """The parsed TOML of a configuration file; any problem is a (located) :class:`ConfigError`."""
    label = label or str(path)
    try:
        data = read_input(path, MAX_CONFIG_BYTES, label)
    except InputError as exc:
        raise ConfigError(
            f"cannot read config file: {exc.message}", help=_INPUT_HELP.get(exc.reason, CONFIG_HELP)
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", "replace")
        raise _located(
            prefix, label, len(prefix), f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")
    check_toml_shape(text, label)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if m:
            line, col = int(m.group(1)), int(m.group(2))
            msg = msg[: m.start()]
        else:  # "(at end of document)"
            msg = re.sub(r"\s*\(at end of document\)$", "", msg) + " at the end of the file"
            body = text.rstrip()  # point after the last character written
            line = body.count("\n") + 1
            col = len(body) - (body.rfind("\n") + 1) + 1
        raise ConfigError(
            f"invalid TOML: {msg}",
            file=label,
            line=line,
            col=col,
            source_line=_line_of(text, line),
            help="fix the TOML syntax (https://toml.io)",
        ) from None
    except RecursionError:  # not expected after check_toml_shape; still never a traceback
        raise ConfigError(f"{label}: invalid TOML: nested too deeply", help=CONFIG_HELP) from None
