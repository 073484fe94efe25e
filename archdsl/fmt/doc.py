"""The layout documents of the formatter: what may go on one line, and where a line may break.

A small Wadler/Prettier-style document algebra. The layout rules (``archdsl/fmt/layout.py``) turn
the concrete syntax into a document; the printer (``archdsl/fmt/printer.py``) picks the line breaks
at the line width. Every document knows, from the moment it is built, the facts the printer asks
again and again (so no measuring walks the tree twice, and no deep spec recurses here):

- ``hb``: it holds a break that must happen (a hard line, a comment);
- ``fw``: its width printed on one line (meaningful when ``hb`` is false);
- ``bl``: the width of its first line when every place a line may break does (how short the first
  line can be); ``bs``: it holds such a place;
- ``hw``: the width of its head, everything up to the first brace of a :class:`Body` (all of it
  when it has none); ``hh``: it has such a body.

None of these but ``hb`` changes when the line breaks the printer added to pipelines become the
author's on the next run, which is what keeps formatting idempotent.

The pieces:

- :class:`Text`: literal text; :data:`SP`: a space that never breaks (after a comment it becomes the
  line break the comment needs); :data:`LINE`: a space where the line may break; :data:`HARD`: a
  line break; :data:`START`: a line break unless the line is still empty;
- :class:`Group`: on one line if it fits, else its ``LINE``\\ s break; :class:`Body` marks a
  ``{ ... }`` body;
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
    __slots__ = ("bl", "bs", "fw", "hb", "hh", "hw")

    hb: bool
    fw: int
    bl: int
    bs: bool
    hw: int
    hh: bool

    def _set(self, hb: bool, fw: int, bl: int, bs: bool, hw: int | None = None, hh: bool = False) -> None:
        self.hb, self.fw, self.bl, self.bs = hb, fw, bl, bs
        self.hw, self.hh = (fw if hw is None else hw), hh


class Text(Doc):
    """Literal text. ``lead``: text that opens a line without being its start, such as the ``->``
    of a continuation line (what :class:`Hang` measures from is the text after it)."""

    __slots__ = ("lead", "s")

    def __init__(self, s: str, lead: bool = False):
        self.s = s
        self.lead = lead
        self._set(False, len(s), len(s), False)


class _Space(Doc):
    __slots__ = ()

    def __init__(self):
        self._set(False, 1, 1, False)


class _Line(_Space):
    __slots__ = ()

    def __init__(self):
        self._set(False, 1, 0, True)


class _Hard(Doc):
    __slots__ = ()

    def __init__(self):
        self._set(True, 0, 0, True)


class _Start(_Hard):
    __slots__ = ()


SP = _Space()
LINE = _Line()
HARD = _Hard()
START = _Start()  # what follows starts a line (a line break unless one was just made)


def _sequence(parts: list[Doc], sep: int) -> tuple[bool, int, int, bool, int, bool]:
    """The measures of ``parts`` one after the other, ``sep`` columns apart."""
    hb, fw, bl, bs, hw, hh = False, 0, 0, False, 0, False
    for i, p in enumerate(parts):
        gap = sep if i else 0
        hb = hb or p.hb
        fw += gap + p.fw
        if not bs:
            bl += gap + p.bl
            bs = p.bs
        if not hh:
            hw += gap + p.hw
            hh = p.hh
    return hb, fw, bl, bs, hw, hh


class Concat(Doc):
    __slots__ = ("parts",)

    def __init__(self, parts: Iterable[Doc]):
        self.parts = [p for p in parts if p is not None]
        self._set(*_sequence(self.parts, 0))


class _Wrap(Doc):
    __slots__ = ("doc",)

    def __init__(self, doc: Doc):
        self.doc = doc
        self._set(doc.hb, doc.fw, doc.bl, doc.bs, doc.hw, doc.hh)


class Group(_Wrap):
    """Flat when it fits on the line and holds no forced break; otherwise its LINEs break.
    ``glued``: flat even when it does not fit (it lies on a line that must stay whole)."""

    __slots__ = ("glued",)

    def __init__(self, doc: Doc, glued: bool = False):
        super().__init__(doc)
        self.glued = glued


class Body(_Wrap):
    """A ``{ ... }`` body (``doc`` starts with the brace). What comes before it is a stage's head:
    a pipeline goes on after the head of a stage that breaks only inside its body."""

    __slots__ = ()

    def __init__(self, doc: Doc):
        super().__init__(doc)
        self.hw, self.hh = 1, True


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


def _items(items: list[Doc], hard: list[bool] | None = None) -> tuple[bool, int, int, bool, int, bool]:
    """Measures of fill or pipeline items, one space apart: the shortest first line is the first
    item's alone."""
    hb, fw, _, _, hw, hh = _sequence(items, 1)
    if not items:
        return hb, fw, 0, False, hw, hh
    return hb or any((hard or [False])[1:]), fw, items[0].bl, len(items) > 1 or items[0].bs, hw, hh


class Fill(Doc):
    """Items one space apart; an item that does not fit on the line starts the next one, unless
    ``glue[k]`` keeps item ``k`` on the line of the one before."""

    __slots__ = ("glue", "items")

    def __init__(self, items: list[Doc], glue: list[bool] | None = None):
        self.items = items
        self.glue = glue or [False] * len(items)
        self._set(*_items(items))


class Pipe(Doc):
    """A pipeline: ``items[0]`` is the first stage, ``items[k]`` is ``-> stage``; ``hard[k]`` says
    the author broke the line before item ``k`` (a break that is kept)."""

    __slots__ = ("glue", "hard", "items")

    def __init__(self, items: list[Doc], hard: list[bool], glue: list[bool] | None = None):
        self.items = items
        self.hard = hard
        self.glue = glue or [False] * len(items)  # no break before item k
        self._set(*_items(items, hard))


class Comment(Doc):
    """A comment. An own-line comment starts a line; a trailing one ends the line it is on (and
    lines up with the trailing comments of its ``group``, see the printer)."""

    __slots__ = ("group", "own_line", "text")

    def __init__(self, text: str, own_line: bool, group: int = 0):
        self.text = text
        self.own_line = own_line
        self.group = group
        self._set(True, 0, 0, True)
