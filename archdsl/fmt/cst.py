"""The concrete syntax tree the formatter lays out: Lark's tree with every token put back in place,
and each comment attached to a token.

Lark's tree (``archdsl/syntax/concrete.py``) lacks its anonymous tokens (``(``, ``,``, ``->``,
``{``, keywords ...). Every tree node covers a contiguous run of the token stream, so a node's
children here are its sub-nodes and, between them, the tokens of its run that no sub-node covers,
all in source order. Nothing in this depends on the grammar's rule names: a construct added to
the grammar arrives here with all its tokens, and the generic layout rule prints it.

A comment on the same line as the token before it is that token's *trailing* comment; any other
comment *leads* the next token (or the end of the file).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from lark import Token, Tree

from archdsl.syntax.concrete import Comment, Concrete


@dataclass
class Node:
    """A tree node: its rule (``kind``) and its children, sub-nodes or token indices."""

    kind: str
    children: list[Node | int]
    first: int  # index of its first token
    last: int  # index of its last token


@dataclass
class Cst:
    root: Node
    tokens: list[Token]
    leading: dict[int, list[Comment]] = field(default_factory=dict)  # token index -> comments before it
    trailing: dict[int, Comment] = field(default_factory=dict)  # token index -> comment after it


def build(parsed: Concrete) -> Cst:
    tokens = parsed.tokens
    starts = [t.start_pos for t in tokens]
    cst = Cst(_node(parsed.tree, 0, len(tokens), starts), tokens)
    _attach(cst, parsed.comments)
    return cst


def _node(tree: Tree, lo: int, hi: int, starts: list[int]) -> Node:
    children: list[Node | int] = []
    i = lo
    for ch in tree.children:
        if not isinstance(ch, Tree) or getattr(ch.meta, "empty", True):
            continue  # tokens are taken from the stream; a sub-tree without tokens prints nothing
        s = bisect.bisect_left(starts, ch.meta.start_pos, lo, hi)
        e = bisect.bisect_left(starts, ch.meta.end_pos, s, hi)
        if e <= s:
            continue
        children.extend(range(i, s))
        children.append(_node(ch, s, e, starts))
        i = e
    children.extend(range(i, hi))
    return Node(str(tree.data), children, lo, hi - 1)


def _attach(cst: Cst, comments: list[Comment]) -> None:
    tokens = cst.tokens
    ends = [t.end_pos for t in tokens]
    for c in comments:
        before = bisect.bisect_right(ends, c.offset) - 1  # the last token ending before the comment
        if before >= 0 and tokens[before].end_line == c.line:
            cst.trailing[before] = c
        else:
            cst.leading.setdefault(before + 1, []).append(c)
