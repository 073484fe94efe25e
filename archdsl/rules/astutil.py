"""Walking the AST for the names a piece of spec refers to (the source-hygiene rules use it)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from typing import Any

from archdsl.syntax import ast


@functools.cache
def _child_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def walk(node: Any) -> Iterator[Any]:
    """Every AST node below (and including) ``node``: dataclasses, tuples and lists are followed."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, (list, tuple)):
            stack.extend(reversed(cur))
            continue
        if not hasattr(type(cur), "__dataclass_fields__"):
            continue
        yield cur
        for name in _child_fields(type(cur)):
            v = getattr(cur, name)
            if isinstance(v, (list, tuple)) or hasattr(type(v), "__dataclass_fields__"):
                stack.append(v)


_CACHE: dict[int, tuple[Any, set[str], set[str]]] = {}
_CACHE_MAX = 1 << 16
# scanned once and remembered: definitions (std blocks recur) and statements (the language server
# re-parses only what an edit touched, so most statements of a long net are the same objects)
_CACHED_KINDS = (ast.BlockDef, ast.NetDef, ast.Stmt)


def _scan(node: Any) -> tuple[set[str], set[str]]:
    """(referenced names, string literals) of a node; cached for definitions and statements."""
    hit = _CACHE.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1], hit[2]
    names: set[str] = set()
    strings: set[str] = set()
    if isinstance(node, (list, tuple)) and any(isinstance(x, _CACHED_KINDS) for x in node):
        for x in node:  # a body: each statement from the cache
            n, s = _scan(x)
            names |= n
            strings |= s
        return names, strings
    if isinstance(node, (ast.BlockDef, ast.NetDef)):
        n, s = _scan(node.body)  # statement by statement
        names |= n
        strings |= s
        rest = [node.params, node.extends] if isinstance(node, ast.NetDef) else [node.params]
    else:
        rest = [node]
    for n in walk(rest):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.Attr):
            names.add(n.obj)
        elif isinstance(n, ast.Call):
            names.add(n.name)
        elif isinstance(n, ast.Str):
            strings.add(n.value)
    if isinstance(node, _CACHED_KINDS):
        if len(_CACHE) > _CACHE_MAX:
            _CACHE.clear()
        _CACHE[id(node)] = (node, names, strings)
    return names, strings


def referenced_names(node: Any) -> set[str]:
    """Names the code refers to: variables, ``x.attr`` objects and called ops/blocks/tensors."""
    return set(_scan(node)[0])


def string_literals(node: Any) -> set[str]:
    """String values (a parameter like ``act = "silu"`` names an op or block by a string)."""
    return set(_scan(node)[1])
