"""The printer: a layout document (``archdsl/fmt/doc.py``) to text at the line width.

Iterative (a stack of commands, no recursion however deep the spec), and in the manner of
Prettier's printer: a :class:`~archdsl.fmt.doc.Group` is printed flat when it fits in what is left
of the line, including the text that follows it up to the next place a line may break.

Two things are archdsl's own:

- **pipelines** (:class:`~archdsl.fmt.doc.Pipe`): the breaks the author put before ``->`` are kept;
  a stretch between them that is too long is broken again before ``->`` into the fewest lines
  that fit, as even in length as possible (not greedily, which leaves a lone ``-> bn`` behind),
  each continuation line under the pipeline's first element;
- **trailing comments** end their line and line up: all those of one group (the statements of a
  body, up to an own-line comment) start two columns after the longest code line among them, a
  line longer than the line width aside.
"""

from __future__ import annotations

from archdsl.fmt.doc import (
    HARD,
    SP,
    Align,
    Body,
    Comment,
    Concat,
    Doc,
    Fill,
    Group,
    Hang,
    Indent,
    Pipe,
    Text,
    _Hard,
    _Line,
    _Space,
    _Start,
    _Wrap,
)

INDENT = 4
FLAT, BREAK = 0, 1
_BIG = 1 << 30


class _FillRest:
    __slots__ = ("fill", "k")

    def __init__(self, fill: Fill, k: int):
        self.fill, self.k = fill, k


class _PipeRest:
    __slots__ = ("align", "k", "pipe")

    def __init__(self, pipe: Pipe, k: int, align: int):
        self.pipe, self.k, self.align = pipe, k, align


class Printer:
    def __init__(self, width: int):
        self.width = width
        self.lines: list[str] = []
        self.parts: list[str] = []
        self.col = 0
        self.content = False  # the current line has text
        self.anchor: int | None = 0  # where the current line starts (None: after a leading '->')
        self.must_break = False  # a comment ended the line: the next text starts a new one
        self.suffix: dict[int, tuple[str, int]] = {}  # line number -> (trailing comment, group)
        self.stack: list[tuple[int, int, object]] = []

    # ---- output ------------------------------------------------------------------------------

    def newline(self, indent: int) -> None:
        self.lines.append("".join(self.parts).rstrip())
        self.parts = [" " * indent]
        self.col = indent
        self.content = False
        self.must_break = False

    def text(self, s: str, indent: int, lead: bool = False) -> None:
        if self.must_break:
            self.newline(indent)
        if not self.content:
            self.anchor = None if lead else self.col
        elif self.anchor is None:
            self.anchor = self.col
        self.parts.append(s)
        self.col += len(s)
        self.content = True

    def space(self, indent: int) -> None:
        if self.must_break:
            self.newline(indent)
        elif self.content:
            self.parts.append(" ")
            self.col += 1

    # ---- the main loop -------------------------------------------------------------------------

    def print(self, doc: Doc) -> str:
        stack = self.stack
        stack.append((0, BREAK, doc))
        while stack:
            ind, mode, d = stack.pop()
            t = type(d)
            if t is Text:
                self.text(d.s, ind, d.lead)
            elif t is Concat:
                stack.extend((ind, mode, p) for p in reversed(d.parts))
            elif t is _Line:
                if mode == BREAK:
                    self.newline(ind)
                else:
                    self.space(ind)
            elif t is _Space:
                self.space(ind)
            elif t is _Hard:
                self.newline(ind)
            elif t is _Start:
                if self.content:
                    self.newline(ind)
            elif t is Group:
                flat = mode == FLAT or (not d.hb and (d.glued or self.fits(d.doc)))
                stack.append((ind, FLAT if flat else BREAK, d.doc))
            elif t is Indent:
                stack.append((ind + INDENT, mode, d.doc))
            elif t is Body:
                stack.append((ind, mode, d.doc))
            elif t is Align:
                stack.append((self.col, mode, d.doc))
            elif t is Hang:
                starts_line = not self.content or self.must_break
                at = ind if starts_line else (self.col if self.anchor is None else self.anchor)
                stack.append((at, mode, d.doc))
            elif t is Comment:
                self.comment(d, ind)
            elif t is Fill:
                self.fill(d, ind, mode)
            elif t is _FillRest:
                self.fill_rest(d, ind)
            elif t is Pipe:
                self.pipe(d, ind, mode)
            elif t is _PipeRest:
                self.pipe_rest(d)
            else:  # pragma: no cover - a document kind without a printing rule
                raise TypeError(f"cannot print {t.__name__}")
        self.lines.append("".join(self.parts).rstrip())
        return self.finish()

    def comment(self, d: Comment, ind: int) -> None:
        if d.own_line:
            if self.content:
                self.newline(ind)
            self.text(d.text, ind)
        else:
            self.suffix[len(self.lines)] = (d.text, d.group)
        self.must_break = True

    # ---- fitting -----------------------------------------------------------------------------

    def fits(self, doc: Doc, rest: bool = True, extra: int = 0) -> bool:
        """Whether ``doc`` printed flat, and what follows it up to the next possible line break,
        fit in what is left of the line."""
        return self.measure(doc, rest, self.width - self.col - extra) >= 0

    def measure(self, doc: Doc | None, rest: bool, left: int) -> int:
        """``left`` less the width of ``doc`` (flat) and of the text after it up to the next
        possible break (when ``rest``); stops early once below zero."""
        cmds: list[tuple[int, object]] = [(FLAT, doc)] if doc is not None else []
        i = len(self.stack)
        while left >= 0:
            if not cmds:
                if not rest or i == 0:
                    return left
                i -= 1
                _, mode, d = self.stack[i]
                cmds.append((mode, d))
                continue
            mode, d = cmds.pop()
            t = type(d)
            if t is Text:
                left -= d.fw
            elif t is _Space:
                left -= 1
            elif t is _Line:
                if mode == BREAK:
                    return left
                left -= 1
            elif t is Concat:
                cmds.extend((mode, p) for p in reversed(d.parts))
            elif t is Fill or t is Pipe:
                if not d.items:
                    continue
                if mode == FLAT:
                    for k in range(len(d.items) - 1, -1, -1):
                        cmds.append((FLAT, d.items[k]))
                        if k:
                            cmds.append((FLAT, SP))
                else:  # its first item, then (perhaps) a break
                    cmds.append((BREAK, HARD))
                    cmds.append((BREAK, d.items[0]))
            elif isinstance(d, _Wrap):
                cmds.append((mode, d.doc))
            else:  # a hard line, a comment, the rest of a fill or pipeline: the line may end here
                return left
        return left

    # ---- fill -------------------------------------------------------------------------------

    def _mode(self, item: Doc, rest: bool) -> int:
        return FLAT if not item.hb and self.fits(item, rest) else BREAK

    def fill(self, d: Fill, ind: int, mode: int) -> None:
        if not d.items:
            return
        if mode == FLAT:
            parts: list[Doc] = []
            for k, item in enumerate(d.items):
                parts += [SP, item] if k else [item]
            self.stack.append((ind, FLAT, Concat(parts)))
            return
        last = len(d.items) == 1
        if not last:
            self.stack.append((ind, BREAK, _FillRest(d, 1)))
        self.stack.append((ind, self._mode(d.items[0], last), d.items[0]))

    def fill_rest(self, r: _FillRest, ind: int) -> None:
        items, k = r.fill.items, r.k
        item = items[k]
        last = k == len(items) - 1
        if not last:
            self.stack.append((ind, BREAK, _FillRest(r.fill, k + 1)))
        if not self.must_break and (r.fill.glue[k] or self.measure(item, last, self.width - self.col - 1) >= 0):
            self.space(ind)
        else:
            self.newline(ind)
        self.stack.append((ind, self._mode(item, last), item))

    # ---- pipelines -----------------------------------------------------------------------------

    def pipe(self, d: Pipe, ind: int, mode: int) -> None:
        if mode == FLAT or (not d.hb and self.fits(d)):
            parts: list[Doc] = []
            for k, item in enumerate(d.items):
                parts += [SP, item] if k else [item]
            self.stack.append((ind, FLAT, Concat(parts)))
            return
        self.pipe_rest(_PipeRest(d, 0, self.col))

    def pipe_rest(self, r: _PipeRest) -> None:
        items, hard, glue, k, align = r.pipe.items, r.pipe.hard, r.pipe.glue, r.k, r.align
        n = len(items)
        # a stage that breaks inside (a comment, a body; too long for any line) ends a stretch:
        # where the next one starts depends on where its last line ends
        multi = [it.hb or align + it.fw > self.width for it in items[k:]]
        j = k + 1
        while j < n and not hard[j] and not multi[j - 1 - k]:
            j += 1
        # widths: a stage on one line; of one that breaks inside, its head (up to its body's brace)
        widths = [it.hw if multi[m - k] else it.fw for m, it in enumerate(items[k:j], k)]
        tail = 0  # what follows the pipeline on its last line: ')', ' if cond', ...
        if j == n and not multi[j - 1 - k]:
            tail = _BIG - self.measure(None, True, _BIG)
        starts: list[int | None]  # where the first item may go: a column, or None for a new line
        if k == 0:
            starts = [self.col]
        elif hard[k] or self.must_break:
            starts = [None]
        elif glue[k]:
            starts = [self.col + 1]
        else:  # after a stage over several lines: on its last line, or on a line of its own
            starts = [self.col + 1, None]
        breaks = self._plan(widths, tail, align, starts, glue[k:j])
        if j < n:
            self.stack.append((align, BREAK, _PipeRest(r.pipe, j, align)))
        for m in range(j - 1, k - 1, -1):
            self.stack.append((align, BREAK, items[m]))
            if m == k and k == 0:
                continue
            self.stack.append((align, BREAK, HARD if breaks[m - k] else SP))

    def _plan(self, widths: list[int], tail: int, align: int, starts: list[int | None], glue: list[bool]) -> list[bool]:
        """Where to break a stretch of pipeline items: ``breaks[i]`` is true when item ``i`` starts
        a line (never where ``glue[i]``). Fewest characters past the line width first, then fewest
        lines, then the shortest longest line, then the most even lines (least sum of squared
        widths)."""
        n = len(widths)
        width = self.width
        pre = [0]
        for w in widths:
            pre.append(pre[-1] + w)

        def span(col: int, m: int, p: int) -> int:
            return col + pre[p] - pre[m] + (p - m - 1) + (tail if p == n else 0)

        # best[m]: cost of laying out items m.. with item m starting a continuation line
        best: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * (n + 1)
        nxt = [n] * (n + 1)
        for m in range(n - 1, 0, -1):
            best[m], nxt[m] = self._line_choice(m, n, lambda m, p: span(align, m, p), best, width, glue)
        options = []
        for col in starts:
            if col is None:
                cost, p = self._line_choice(0, n, lambda m, p: span(align, m, p), best, width, glue)
                cost = (cost[0], cost[1] + 1, *cost[2:])
            else:
                cost, p = self._line_choice(0, n, lambda m, p, c=col: span(c, m, p), best, width, glue)
            options.append((cost, col is None, p))
        cost, break_first, p = min(options)
        breaks = [False] * n
        breaks[0] = break_first
        while p < n:
            breaks[p] = True
            p = nxt[p]
        return breaks

    @staticmethod
    def _line_choice(m, n, span, best, width, glue):
        """The best end for a line starting with item ``m`` (the line holds items ``m..p-1``)."""
        choice = None
        for p in range(m + 1, n + 1):
            if p < n and glue[p]:
                continue  # item p stays on this line
            end = span(m, p)
            rest = best[p] if p < n else (0, 0, 0, 0)
            cost = (max(0, end - width) + rest[0], 1 + rest[1], max(end, rest[2]), end * end + rest[3])
            if choice is None or cost < choice[0]:
                choice = (cost, p)
            if end > width and p > m + 1 and (span(m, m + 1) <= width or p - m > 64):
                break
        return choice

    # ---- finishing -----------------------------------------------------------------------------

    def finish(self) -> str:
        lines = self.lines
        column: dict[int, int] = {}
        for no, (_, group) in self.suffix.items():
            w = len(lines[no])
            if w <= self.width:
                column[group] = max(column.get(group, 0), w + 2)
        for no, (text, group) in self.suffix.items():
            code = lines[no]
            at = column.get(group, 0)
            lines[no] = code + " " * (at - len(code) if at >= len(code) + 2 else 2) + text
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines) + "\n" if lines else ""


def render(doc: Doc, width: int) -> str:
    return Printer(width).print(doc)


__all__ = ["INDENT", "Printer", "render"]
