"""The layout documents of the formatter: what may go on one line, and where a line may break.

A small Wadler/Prettier-style document algebra. The layout rules (``archdsl/fmt/layout.py``) turn
the concrete syntax into a document; the printer (``archdsl/fmt/printer.py``) picks the line breaks
at the line width. Every document knows, from the moment it is built, three facts the printer asks
again and again (so no measuring walks the tree twice, and no deep spec recurses here):

- ``hb``: it holds a break that must happen (a hard line, a comment);
- ``fw``: its width printed on one line (meaningful when ``hb`` is false);
- ``fl``: the width of its first line, up to the first break that must happen.

The pieces:

- :class:`Text`: literal text; :data:`SP`: a space that never breaks (after a comment it becomes the
  line break the comment needs); :data:`LINE`: a space where the line may break; :data:`HARD`: a
  line break;
- :class:`Group`: on one line if it fits, else its ``LINE``\\ s break;
- :class:`Indent` (four more columns), :class:`Align` (indent to the column where it starts:
  continuation lines under the first element, arguments under the first argument) and
  :class:`Hang` (indent to where its line starts: bodies and one-item-a-line lists);
- :class:`Fill`: items separated by spaces, each moved to a new line only when it does not fit;
- :class:`Pipe`: the stages of a pipeline, with the breaks before ``->`` that the author wrote;
- :class:`Comment`: a comment, own-line (it starts a line) or trailing (it ends one).
"""

from __future__ import annotations

from collections.abc import Iterable


class Doc:
    __slots__ = ("fl", "fw", "hb")

    hb: bool
    fw: int
    fl: int


class Text(Doc):
    """Literal text. ``lead``: text that opens a line without being its start, such as the ``->``
    of a continuation line (what :class:`Hang` measures from is the text after it)."""

    __slots__ = ("lead", "s")

    def __init__(self, s: str, lead: bool = False):
        self.s = s
        self.lead = lead
        self.hb = False
        self.fw = self.fl = len(s)


class _Space(Doc):
    __slots__ = ()

    def __init__(self):
        self.hb = False
        self.fw = self.fl = 1


class _Line(_Space):
    __slots__ = ()


class _Hard(Doc):
    __slots__ = ()

    def __init__(self):
        self.hb = True
        self.fw = self.fl = 0


SP = _Space()
LINE = _Line()
HARD = _Hard()


def _widths(parts: list[Doc], sep: int = 0) -> tuple[bool, int, int]:
    """``hb``, ``fw`` and ``fl`` of ``parts`` printed one after the other, ``sep`` columns apart."""
    fw = fl = 0
    hb = False
    for i, p in enumerate(parts):
        gap = sep if i else 0
        if not hb and p.hb:
            fl = fw + gap + p.fl
            hb = True
        fw += gap + p.fw
    return hb, fw, (fl if hb else fw)


class Concat(Doc):
    __slots__ = ("parts",)

    def __init__(self, parts: Iterable[Doc]):
        self.parts = [p for p in parts if p is not None]
        self.hb, self.fw, self.fl = _widths(self.parts)


class _Wrap(Doc):
    __slots__ = ("doc",)

    def __init__(self, doc: Doc):
        self.doc = doc
        self.hb, self.fw, self.fl = doc.hb, doc.fw, doc.fl


class Group(_Wrap):
    """Flat when it fits on the line and holds no forced break; otherwise its LINEs break."""

    __slots__ = ()


class Indent(_Wrap):
    """Lines broken inside start four columns further in than the enclosing indentation."""

    __slots__ = ()


class Align(_Wrap):
    """Lines broken inside start at the column where this document starts."""

    __slots__ = ()


class Hang(_Wrap):
    """Lines broken inside start at the column where the line this document starts on starts (the
    text after a leading ``->``): the closing brace of a body goes there, and the body four
    columns further in."""

    __slots__ = ()


class Fill(Doc):
    """Items one space apart; an item that does not fit on the line starts the next one."""

    __slots__ = ("items",)

    def __init__(self, items: list[Doc]):
        self.items = items
        self.hb, self.fw, self.fl = _widths(items, 1)


class Pipe(Doc):
    """A pipeline: ``items[0]`` is the first stage, ``items[k]`` is ``-> stage``; ``hard[k]`` says
    the author broke the line before item ``k`` (a break that is kept)."""

    __slots__ = ("hard", "items")

    def __init__(self, items: list[Doc], hard: list[bool]):
        self.items = items
        self.hard = hard
        self.hb, self.fw, self.fl = _widths(items, 1)
        if any(hard[1:]) and not self.hb:
            first = hard.index(True, 1)
            self.hb = True
            self.fl = sum(it.fw for it in items[:first]) + first - 1


class Comment(Doc):
    """A comment. An own-line comment starts a line; a trailing one ends the line it is on (and
    lines up with the trailing comments of its ``group``, see the printer)."""

    __slots__ = ("group", "own_line", "text")

    def __init__(self, text: str, own_line: bool, group: int = 0):
        self.text = text
        self.own_line = own_line
        self.group = group
        self.hb = True
        self.fw = self.fl = 0


def concat(*parts: Doc | None) -> Concat:
    return Concat(parts)
