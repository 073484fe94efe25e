"""The layout rules: the concrete syntax tree (``archdsl/fmt/cst.py``) as a layout document.

One generic rule prints any node: its tokens in order, one space apart except where the house
style glues them (``conv(``, ``(x``, ``x)``, ``a,``, ``in.c``, ``body:``, ``-1``). Inside it, every
bracket pair and every brace pair of a node is laid out by the rule for lists, whatever the node:

- ``( ... )`` and ``[ ... ]`` (arguments, parameters, shapes, function calls): the items filled
  onto lines, each continuation line under the first item; with a trailing comma, one item a line
  (indented four columns, the closing bracket on a line of its own);
- ``{ ... }``: one item a line, indented four columns, the closing brace under the start of the
  construct; the blank lines between items are kept (one at most, none at either end). A body of
  one item (a ``residual``, a ``columns`` of one column) stays on one line when it fits; a block,
  a net and a ``meta`` body never do.

Specific rules exist only where the generic one is not enough: the file (one blank line between
definitions), a pipeline (breaks before ``->``, see ``archdsl/fmt/printer.py``) and a stage (its
continuation lines and bodies line up under its start). A construct the grammar gains later is
printed by the generic rule with all its tokens and comments, and can get a rule of its own here.

Comments go where they were: a trailing comment after its token, an own-line comment on a line
of its own before the token it preceded (in a body: with the blank lines around it, one at most).
"""

from __future__ import annotations

import re

from archdsl.fmt.cst import Cst, Node
from archdsl.fmt.doc import (
    HARD,
    LINE,
    SP,
    START,
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
)

ALWAYS_BLOCK = {"block_def", "net_body", "space_def"}  # the bodies of definitions: never on one line
CLOSERS = {"(": ")", "[": "]", "{": "}"}
OPERATOR_WORDS = {"if", "else", "and", "or", "not"}  # keywords that take a space before '('
NO_SPACE_BEFORE = {")", "]", ",", ":", "."}
NO_SPACE_AFTER = {"(", "[", "."}

Child = Node | int

# A trailing ``# archdsl: noqa CODES`` suppresses the lint findings that start on its line
# (archdsl/rules/noqa.py, whose DIRECTIVE_RE this follows; tests/test_fmt.py keeps them in step).
# Its line is kept whole and on its own: never joined to the line before it, never broken.
NOQA_RE = re.compile(r"#\s*archdsl\s*:\s*noqa(?!-file)\b", re.I)


class Layout:
    def __init__(self, cst: Cst):
        self.cst = cst
        self.toks = cst.tokens
        self.group = 0  # the trailing comments being laid out line up with this group's
        self._groups = 0
        self.noqa_lines = {c.line for c in cst.trailing.values() if NOQA_RE.search(c.text)}
        self.no_start: set[int] = set()  # tokens opening a noqa line that need no line break of their own

    def new_group(self) -> int:
        self._groups += 1
        return self._groups

    # ---- tokens ----------------------------------------------------------------------------

    def text(self, i: int) -> str:
        return str(self.toks[i])

    def glued(self, i: int) -> bool:
        """Token ``i`` must stay on the line of the token before it (a line with a noqa comment)."""
        toks = self.toks
        return 0 < i < len(toks) and toks[i].line in self.noqa_lines and toks[i - 1].end_line == toks[i].line

    def starts_noqa_line(self, i: int) -> bool:
        toks = self.toks
        return (
            0 < i < len(toks)
            and toks[i].line in self.noqa_lines
            and toks[i - 1].end_line < toks[i].line
            and i not in self.no_start
        )

    def tok(self, i: int, lead: bool = False) -> Doc:
        """A token with the comments before it (own-line) and after it (trailing)."""
        doc, after = self.tok_and_comment(i, lead)
        return doc if after is None else Concat([doc, after])

    def tok_and_comment(self, i: int, lead: bool = False) -> tuple[Doc, Doc | None]:
        """A token with the comments before it, and its trailing comment apart (for the closing
        brace of a body of one item: a comment after it is no reason to open the body)."""
        parts: list[Doc] = [Comment(c.text, True) for c in self.cst.leading.pop(i, ())]
        if self.starts_noqa_line(i):
            parts.append(START)
        parts.append(Text(self.text(i), lead))
        after = self.cst.trailing.pop(i, None)
        return (parts[0] if len(parts) == 1 else Concat(parts)), (
            None if after is None else Comment(after.text, False, self.group)
        )

    @staticmethod
    def first(c: Child) -> int:
        return c if isinstance(c, int) else c.first

    @staticmethod
    def last(c: Child) -> int:
        return c if isinstance(c, int) else c.last

    # ---- the generic rule ------------------------------------------------------------------

    def node(self, n: Node) -> Doc:
        rule = getattr(self, "rule_" + n.kind, None)
        return rule(n) if rule is not None else self.seq(n.children, n)

    def child(self, c: Child) -> Doc:
        return self.tok(c) if isinstance(c, int) else self.node(c)

    def seq(self, children: list[Child], n: Node) -> Doc:
        parts: list[Doc] = []
        prev = None
        i = 0
        while i < len(children):
            c = children[i]
            j = self._closing(children, i) if isinstance(c, int) else None
            if j is not None:
                doc = self.braces(children[i : j + 1], n) if self.text(c) == "{" else self.brackets(children[i : j + 1])
                first, last = c, children[j]
                i = j + 1
            else:
                doc, first, last = self.child(c), self.first(c), self.last(c)
                i += 1
            if prev is not None and self.spaced(prev, first, n):
                parts.append(SP)
            parts.append(doc)
            prev = last
        return parts[0] if len(parts) == 1 else Concat(parts)

    def _closing(self, children: list[Child], i: int) -> int | None:
        """The index of the bracket closing the one at ``children[i]`` (None: not an opening one)."""
        opener = self.text(children[i])
        closer = CLOSERS.get(opener)
        if closer is None:
            return None
        depth = 0
        for j in range(i, len(children)):
            c = children[j]
            if isinstance(c, int):
                t = self.text(c)
                if t == opener:
                    depth += 1
                elif t == closer:
                    depth -= 1
                    if depth == 0:
                        return j
        return None

    def spaced(self, a: int, b: int, n: Node) -> bool:
        """Whether a space separates token ``a`` and the token ``b`` after it."""
        ta, tb = self.text(a), self.text(b)
        if ta in NO_SPACE_AFTER or tb in NO_SPACE_BEFORE:
            return False
        if tb == "(" and ta.isidentifier() and ta not in OPERATOR_WORDS:
            return False  # a call: conv(, columns(, first(, a net's parameters
        # a prefix operator: -1
        return not (a == n.first and not ta.isidentifier() and ta not in CLOSERS.values() and len(n.children) == 2)

    # ---- brackets: ( ... ) and [ ... ] ----------------------------------------------------------

    def brackets(self, children: list[Child]) -> Doc:
        open_, close = children[0], children[-1]
        inner = children[1:-1]
        items: list[list[Child]] = [[]]
        depth = 0
        for c in inner:
            if isinstance(c, int):
                t = self.text(c)
                depth += t in ("(", "[", "{")
                depth -= t in (")", "]", "}")
                if t == "," and depth == 0:
                    items[-1].append(c)
                    items.append([])
                    continue
            items[-1].append(c)
        magic = len(items) > 1 and not items[-1]  # a trailing comma: one item a line
        if not items[-1]:
            items.pop()
        after = [Comment(c.text, True) for c in self.cst.leading.pop(close, ())]
        docs = [self._item(it) for it in items]
        glue = [k > 0 and self.glued(self.first(it[0])) for k, it in enumerate(items)]
        if magic:
            lines: list[Doc] = [Concat([HARD, d]) for d in docs] + [Concat([HARD, c]) for c in after]
            return Concat([self.tok(open_), Indent(Concat(lines)), HARD, self.tok(close)])
        if not docs and not after:
            return Concat([self.tok(open_), self.tok(close)])
        if after:
            return Concat([self.tok(open_), Align(Concat([Fill(docs, glue), *after, self.tok(close)]))])
        return Concat([self.tok(open_), Align(Fill(docs, glue)), self.tok(close)])

    def _item(self, item: list[Child]) -> Doc:
        """One list item with its comma."""
        if item and isinstance(item[-1], int) and self.text(item[-1]) == ",":
            body = self.seq(item[:-1], _ITEM) if len(item) > 1 else None
            return Concat([body, self.tok(item[-1])]) if body is not None else self.tok(item[-1])
        return self.seq(item, _ITEM)

    # ---- braces: { ... } ---------------------------------------------------------------------

    def braces(self, children: list[Child], n: Node) -> Doc:
        open_, close = children[0], children[-1]
        inner = children[1:-1]
        if any(isinstance(c, int) for c in inner):  # tokens between the braces: no items to line up
            content = self.seq(inner, _ITEM)
            end, after = self.tok_and_comment(close)
            group = Group(Concat([self.tok(open_), Indent(Concat([LINE, content])), LINE, end]))
            return Body(Concat([group, after]) if after else group)
        leading = self.cst.leading
        if n.kind not in ALWAYS_BLOCK and len(inner) == 1 and inner[0].first not in leading and close not in leading:
            outer, self.group = self.group, self.new_group()
            item = self.node(inner[0])
            self.group = outer
            glued = self.glued(inner[0].first) or self.glued(close)
            end, after = self.tok_and_comment(close)
            group = Group(Concat([self.tok(open_), Indent(Concat([LINE, item])), LINE, end]), glued)
            return Body(Concat([group, after]) if after else group)
        body = self.lines(inner, close)
        if not body:
            return Concat([self.tok(open_), self.tok(close)])
        return Body(Concat([self.tok(open_), Indent(Concat(body)), HARD, self.tok(close)]))

    def lines(self, items: list[Node], end: int, top: bool = False) -> list[Doc]:
        """Items one a line, each after the comments that preceded it, blank lines kept (one at
        most); then the comments before ``end`` (the closing brace, or the end of the file).
        ``top``: the items are the file's definitions, with one blank line between them."""
        out: list[Doc] = []
        toks = self.toks
        outer = self.group
        self.group = self.new_group()
        prev_end = None
        prev_kind = None
        for item in items:
            comments = self.cst.leading.pop(item.first, [])
            start = comments[0].line if comments else toks[item.first].line
            if prev_end is not None:
                out.append(HARD)
                blank = start - prev_end > 1
                if top and not (item.kind == prev_kind == "import_stmt"):
                    blank = True
                if blank:
                    out.append(HARD)
            elif not top:
                out.append(HARD)
            if comments or top:  # trailing comments line up within a run of statements
                self.group = self.new_group()
            if comments:
                self._comments(out, comments, toks[item.first].line)
            out.append(self.node(item))
            prev_end = toks[item.last].end_line
            prev_kind = item.kind
        self.group = outer
        comments = self.cst.leading.pop(end, [])
        if comments:
            if prev_end is not None or not top:
                out.append(HARD)
            if prev_end is not None and comments[0].line - prev_end > 1:
                out.append(HARD)
            self._comments(out, comments, None)
        return out

    @staticmethod
    def _comments(out: list[Doc], comments: list, next_line: int | None) -> None:
        for k, c in enumerate(comments):
            out.append(Comment(c.text, True))
            following = comments[k + 1].line if k + 1 < len(comments) else next_line
            if following is not None:
                out.append(HARD)
                if following - c.line > 1:
                    out.append(HARD)

    # ---- specific rules ----------------------------------------------------------------------

    def rule_start(self, n: Node) -> Doc:
        items = [c for c in n.children if isinstance(c, Node)]
        if len(items) != len(n.children):  # pragma: no cover - the grammar has only definitions here
            return self.seq(n.children, n)
        return Concat(self.lines(items, len(self.toks), top=True))

    def rule_stage(self, n: Node) -> Doc:
        """A stage's bodies and one-item-a-line lists hang from the start of the line it starts on
        (its own start on a continuation line, the statement's otherwise). A repeat (``* 3``,
        ``first(...)``) that does not fit after the element goes on a line of its own under it."""
        star = next((i for i, c in enumerate(n.children) if isinstance(c, int) and self.text(c) == "*"), None)
        if star is None or star == 0:
            return Hang(self.seq(n.children, n))
        rest = n.children[star:]
        first = next((i for i, c in enumerate(rest) if isinstance(c, Node) and c.kind == "first"), len(rest))
        items = [Hang(self.seq(n.children[:star], n)), self.seq(rest[:first], _ITEM)]
        glue = [False, self.glued(n.children[star])]
        if first < len(rest):
            items.append(self.seq(rest[first:], _ITEM))
            glue.append(self.glued(self.first(rest[first])))
        return Align(Fill(items, glue))

    def rule_net_def(self, n: Node) -> Doc:
        """``extends ...`` that does not fit after the net's name and parameters goes on the next
        line, four columns in."""
        at = next((i for i, c in enumerate(n.children) if isinstance(c, Node) and c.kind == "extends"), None)
        if at is None or at == 0:
            return self.seq(n.children, n)
        head = Fill(
            [self.seq(n.children[:at], n), self.node(n.children[at])], [False, self.glued(n.children[at].first)]
        )
        rest = n.children[at + 1 :]
        return Concat([Indent(head), SP, self.seq(rest, _ITEM)]) if rest else Indent(head)

    def rule_pipeline(self, n: Node) -> Doc:
        stages = n.children[::2]
        arrows = n.children[1::2]
        if not all(isinstance(s, Node) for s in stages) or not all(
            isinstance(a, int) and self.text(a) == "->" for a in arrows
        ):
            return self.seq(n.children, n)
        items = [self.node(stages[0])]
        hard = [False]
        glue = [False]
        for arrow, stage in zip(arrows, stages[1:], strict=True):
            hard.append(self.toks[arrow].line > self.toks[self.last(stages[len(items) - 1])].end_line)
            glue.append(self.glued(arrow))
            if self.starts_noqa_line(stage.first):  # 'a ->' then a noqa line: the break goes before '->'
                hard[-1] = True
                self.no_start.add(stage.first)
            items.append(Concat([self.tok(arrow, lead=True), SP, self.node(stage)]))
        return items[0] if len(items) == 1 else Pipe(items, hard, glue)


_ITEM = Node("<item>", [], -1, -1)  # the node of a list item's tokens: no prefix-operator rule applies
