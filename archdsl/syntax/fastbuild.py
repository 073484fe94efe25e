"""The AST built while parsing: the LALR parser (:mod:`archdsl.syntax.lalr`) driven with callbacks that make AST nodes.

Lark builds a parse tree (a ``Tree`` per rule, positions propagated by wrapper objects) and
:class:`archdsl.syntax.parser._ToAst` then walks it; together that was two thirds of parsing.
Here each grammar rule gets one fused callback that does what Lark's wrapper chain for the rule
does (``ExpandSingleChild`` for ``?rule``, the child filter that drops anonymous tokens and splices
``_rule`` children, ``PropagatePositions``) and calls the same ``_ToAst`` method with the same
positions, so the result is the very AST :func:`archdsl.syntax.parser.build_ast` makes from Lark's
tree (``tests/test_parser_fast.py`` compares the two on every spec of the repository).

The callbacks are made from the rules of the loaded tables (Lark's rules, as
:func:`archdsl.syntax.tables.runtime_tables` stored them), not from a list written here: a grammar
change needs nothing in this module unless it adds a rule that ``_ToAst`` must handle (as it
always did), and then the tables are regenerated as before (``scripts/gen_parser_tables.py``).

What the tree walk did by recursing is kept by two rules:
  * a method's diagnostic (E103/E104/E108) is raised after the parse, not at once, so that a syntax
    error anywhere in the file still wins, as when the tree was built first and walked afterwards;
    the first one in the walk's order (the order of the reductions) is the one raised;
  * the tree's nesting depth is measured, and a tree deeper than the walk could recurse is E106.
"""

from __future__ import annotations

import sys
from typing import Any

from archdsl.diagnostics import DiagnosticError
from archdsl.syntax.lalr import Runtime, Token


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
        elif type(c) is Token:
            return c.line, c.column
    return None


def _last(children: list) -> tuple[int, int] | None:
    for c in reversed(children):
        if type(c) is _Node:
            if not c.empty:
                return c.celine, c.cecol
        elif type(c) is Token:
            return c.end_line, c.end_column
    return None


def _value(c: Any) -> Any:
    return c.value if type(c) is _Node else c


class _Meta:
    """Positions as Lark's ``Meta`` holds them, for a rule without an AST method (a ``Tree``)."""

    def __init__(self, node: _Node):
        self.empty = node.empty
        if not node.empty:
            self.line, self.column, self.end_line, self.end_column = (
                node.line,
                node.column,
                node.end_line,
                node.end_column,
            )


def _tree(name: str, children: list, node: _Node):
    from lark import Tree  # only for a grammar rule that has no method in _ToAst

    return Tree(name, children, _Meta(node))


def _callback(rule: dict, method, state: _State):
    """The fused callback of one rule (see the module docstring for the wrappers it stands for);
    None for ``?a: b``, whose value is its one child's."""
    name = rule["alias"] or rule["template_source"] or rule["origin"]
    keep_all = rule["keep_all_tokens"]
    expansion = rule["expansion"]
    include = [
        (i, not is_term and sym.startswith("_"))
        for i, (sym, is_term, filter_out) in enumerate(expansion)
        if keep_all or not filter_out
    ]
    expand1 = bool(rule["expand1"] and not rule["alias"])
    inline = name.startswith("_")  # a `_rule`: its parent splices its children
    if expand1 and len(expansion) == 1 and include == [(0, False)]:
        # `?a: b`, the chains of the expression grammar: the child itself, its positions its own
        return None

    if not expand1 and not inline and method is not None:
        return _plain(expansion, include, method, state)
    if inline and len(expansion) == 1 and include == [(0, False)]:
        return _wrap_one

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
                node.value = _tree(name, [_value(c) for c in filtered], node)
            else:
                node.value = method(node, [_value(c) for c in filtered])
        except DiagnosticError as exc:
            state.error = exc
            node.value = None
        return node

    return cb


def _wrap_one(children: list) -> _Node:
    """What ``cb`` does for ``_a: b`` (one symbol, spliced into the parent): a node holding the child."""
    c = children[0]
    node = _Node()
    node.children = [c]
    if type(c) is _Node:
        node.depth = c.depth
        if c.empty:
            node.end_line = None
        else:
            node.line = node.cline = c.cline
            node.column = node.ccol = c.ccol
            node.end_line = node.celine = c.celine
            node.end_column = node.cecol = c.cecol
            node.empty = False
    else:
        node.line = node.cline = c.line
        node.column = node.ccol = c.column
        node.end_line = node.celine = c.end_line
        node.end_column = node.cecol = c.end_column
        node.empty = False
    return node


def _plain(expansion: list, include: list[tuple[int, bool]], method, state: _State):
    """The callback of the most common kind of rule: its own node and an AST method. What ``cb``
    does for it, with what the grammar says fixed in advance: which children are kept or spliced,
    whether the first and last are tokens (their positions are then theirs)."""
    first_is_token = bool(expansion) and expansion[0][1]
    last_is_token = bool(expansion) and expansion[-1][1]
    idx = [i for i, splice in include if not splice]
    if len(idx) != len(include):
        idx = None  # children spliced: the general loop

    def plain(children: list):
        depth = 0
        vals = []
        if idx is not None:
            for i in idx:
                c = children[i]
                if type(c) is _Node:
                    if c.depth > depth:
                        depth = c.depth
                    vals.append(c.value)
                else:
                    vals.append(c)
        else:
            for i, splice in include:
                c = children[i]
                if splice:
                    if c.depth > depth:
                        depth = c.depth
                    for x in c.children:
                        vals.append(x.value if type(x) is _Node else x)
                elif type(c) is _Node:
                    if c.depth > depth:
                        depth = c.depth
                    vals.append(c.value)
                else:
                    vals.append(c)
        node = _Node()
        node.depth = depth + 1
        if first_is_token:
            c = children[0]
            node.line = node.cline = c.line
            node.column = node.ccol = c.column
            node.empty = False
        else:
            first = _first(children)
            if first is not None:
                node.line, node.column = node.cline, node.ccol = first
                node.empty = False
        if last_is_token:
            c = children[-1]
            node.end_line = node.celine = c.end_line
            node.end_column = node.cecol = c.end_column
            node.empty = False
        else:
            last = _last(children)
            if last is not None:
                node.end_line, node.end_column = node.celine, node.cecol = last
                node.empty = False
            else:
                node.end_line = None
        if state.error is not None:
            node.value = None  # the parse goes on only to find a syntax error
            return node
        try:
            node.value = method(node, vals)
        except DiagnosticError as exc:
            state.error = exc
            node.value = None
        return node

    return plain


def _stack_depth() -> int:
    f, n = sys._getframe(), 0
    while f is not None:
        f, n = f.f_back, n + 1
    return n


class FastParser:
    """Parses with the tables of ``runtime`` (:func:`archdsl.syntax.lalr.load_runtime`) straight into
    the AST of ``_ToAst`` methods."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.terminals = runtime.terminals

    def parse(self, text: str, to_ast, on_token=None) -> Any:
        """The AST of ``text``; syntax errors raise :class:`archdsl.syntax.lalr.SyntaxFailure`.

        ``to_ast`` is a ``_ToAst`` instance for this text: its methods are the callbacks' work.
        """
        state = _State()
        methods: dict[str, Any] = {}
        callbacks = []
        for rule in self.runtime.rules:
            name = rule["alias"] or rule["template_source"] or rule["origin"]
            if name not in methods:
                methods[name] = None if name.startswith("_") else getattr(to_ast, name, None)
            callbacks.append(_callback(rule, methods[name], state))
        root = self.runtime.parse(text, callbacks, on_token)
        # the walk of the tree recursed two frames a level: as deep a tree is E106 here too
        if type(root) is _Node and 2 * root.depth > sys.getrecursionlimit() - _stack_depth():
            raise RecursionError
        if state.error is not None:
            raise state.error
        return _value(root)
