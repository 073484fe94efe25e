"""The AST built while parsing: Lark's LALR parser driven with callbacks that make AST nodes.

Lark builds a parse tree (a ``Tree`` per rule, positions propagated by wrapper objects) and
:class:`archdsl.syntax.parser._ToAst` then walks it; together that was two thirds of parsing.
Here each grammar rule gets one fused callback that does what Lark's wrapper chain for the rule
does (``ExpandSingleChild`` for ``?rule``, the child filter that drops anonymous tokens and splices
``_rule`` children, ``PropagatePositions``) and calls the same ``_ToAst`` method with the same
positions, so the result is the very AST :func:`archdsl.syntax.parser.build_ast` makes from Lark's
tree (``tests/test_parser_fast.py`` compares the two on every spec of the repository).

The callbacks are made from the rules of the loaded parser (``Lark.rules``, read from the shipped
tables), not from a list written here: a grammar change needs nothing in this module unless it
adds a rule that ``_ToAst`` must handle (as it always did), and then the tables are regenerated
as before (``scripts/gen_parser_tables.py``).

What the tree walk did by recursing is kept by two rules:
  * a method's diagnostic (E103/E104/E108) is raised after the parse, not at once, so that a syntax
    error anywhere in the file still wins, as when the tree was built first and walked afterwards;
    the first one in the walk's order (the order of the reductions) is the one raised;
  * the tree's nesting depth is measured, and a tree deeper than the walk could recurse is E106.
"""

from __future__ import annotations

import sys
from typing import Any

from lark import Lark, Token, Tree
from lark.tree import Meta

from archdsl.diagnostics import DiagnosticError


class _Node:
    """A reduced rule on the parser's value stack: its AST value (or, for an inlined ``_rule``, its
    filtered children), its own positions and its container's (Lark's ``container_*`` meta)."""

    __slots__ = (
        "ccol",
        "cecol",
        "celine",
        "children",
        "cline",
        "column",
        "depth",
        "empty",
        "end_column",
        "end_line",
        "line",
        "value",
    )

    def __init__(self) -> None:
        self.empty = True
        self.depth = 0


class _State:
    """Per parse: the first diagnostic a method raised (kept until the parse ends) and the depth."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: DiagnosticError | None = None


def _first(children: list) -> tuple[int, int] | None:
    for c in children:
        if type(c) is _Node:
            if not c.empty:
                return c.cline, c.ccol
        elif isinstance(c, Token):
            return c.line, c.column
    return None


def _last(children: list) -> tuple[int, int] | None:
    for c in reversed(children):
        if type(c) is _Node:
            if not c.empty:
                return c.celine, c.cecol
        elif isinstance(c, Token):
            return c.end_line, c.end_column
    return None


def _value(c: Any) -> Any:
    return c.value if type(c) is _Node else c


def _meta(node: _Node) -> Meta:
    meta = Meta()
    if not node.empty:
        meta.line, meta.column, meta.end_line, meta.end_column = node.line, node.column, node.end_line, node.end_column
        meta.empty = False
    return meta


def _only_child(children: list):
    return children[0]


def _callback(rule, method, state: _State):
    """The fused callback of one rule (see the module docstring for the wrappers it stands for)."""
    name = rule.alias or rule.options.template_source or rule.origin.name
    keep_all = rule.options.keep_all_tokens
    include = [
        (i, not sym.is_term and sym.name.startswith("_"))
        for i, sym in enumerate(rule.expansion)
        if keep_all or not (sym.is_term and sym.filter_out)
    ]
    expand1 = bool(rule.options.expand1 and not rule.alias)
    inline = name.startswith("_")  # a `_rule`: its parent splices its children
    if expand1 and len(rule.expansion) == 1 and include == [(0, False)]:
        # `?a: b`, the chains of the expression grammar: the child itself, its positions its own
        return _only_child

    def cb(children: list):
        filtered: list = []
        depth = 0  # the deepest child, spliced ones included
        for i, splice in include:
            c = children[i]
            if splice:
                if filtered:
                    filtered += c.children
                else:  # the spliced node is dropped: take its list over (a left-recursive `x+`
                    filtered = c.children  # then grows in place, linear, not quadratic)
                if c.depth > depth:
                    depth = c.depth
            else:
                filtered.append(c)
                if type(c) is _Node and c.depth > depth:
                    depth = c.depth
        first = _first(children)
        last = _last(children)
        if expand1 and len(filtered) == 1:
            res = filtered[0]
            if type(res) is not _Node:
                return res  # a token: Lark leaves it as it is
            if first is not None:
                if res.empty:
                    res.line, res.column = first
                    res.empty = False
                res.cline, res.ccol = first
            if last is not None:
                if res.end_line is None:
                    res.end_line, res.end_column = last
                    res.empty = False
                res.celine, res.cecol = last
            return res
        node = _Node()
        node.end_line = None
        if first is not None:
            node.line, node.column = node.cline, node.ccol = first
            node.empty = False
        if last is not None:
            node.end_line, node.end_column = node.celine, node.cecol = last
            node.empty = False
        if inline:
            node.children = filtered
            node.depth = depth  # spliced into the parent: no level of its own
            return node
        node.depth = depth + 1
        if state.error is not None:
            node.value = None  # the parse goes on only to find a syntax error
            return node
        try:
            if method is None:
                node.value = Tree(name, [_value(c) for c in filtered], _meta(node))
            else:
                node.value = method(node, [_value(c) for c in filtered])
        except DiagnosticError as exc:
            state.error = exc
            node.value = None
        return node

    return cb


def _stack_depth() -> int:
    f, n = sys._getframe(), 0
    while f is not None:
        f, n = f.f_back, n + 1
    return n


class FastParser:
    """Parses with the tables of ``lark`` (a parser made by :func:`archdsl.syntax.tables.make_parser`)
    straight into the AST of ``_ToAst`` methods."""

    def __init__(self, lark: Lark):
        self.lark = lark
        frontend = lark.parser
        self._frontend = frontend
        self._lalr = frontend.parser  # LALR_Parser
        self._table = self._lalr.parser.parse_table
        self._rules = list(lark.rules)

    def parse(self, text: str, to_ast) -> Any:
        """The AST of ``text``; Lark's exceptions (syntax errors) propagate as from ``Lark.parse``.

        ``to_ast`` is a ``_ToAst`` instance for this text: its methods are the callbacks' work.
        """
        from lark.parsers.lalr_parser import _Parser

        state = _State()
        methods: dict[str, Any] = {}
        callbacks = {}
        for rule in self._rules:
            name = rule.alias or rule.options.template_source or rule.origin.name
            if name not in methods:
                methods[name] = None if name.startswith("_") else getattr(to_ast, name, None)
            callbacks[rule] = _callback(rule, methods[name], state)
        parser = _Parser(self._table, callbacks)
        stream = self._frontend._make_lexer_thread(text)
        start = self._frontend._verify_start(None)
        root = parser.parse(stream, start)
        # the walk of the tree recursed two frames a level: as deep a tree is E106 here too
        if type(root) is _Node and 2 * root.depth > sys.getrecursionlimit() - _stack_depth():
            raise RecursionError
        if state.error is not None:
            raise state.error
        return _value(root)
