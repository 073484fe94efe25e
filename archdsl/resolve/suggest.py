"""Did-you-mean suggestions that stay cheap when there are thousands of names to choose from.

:func:`archdsl.diagnostics.did_you_mean` compares the name with every candidate (difflib), a few
microseconds each. That is nothing for the thirty ops, but a spec with 5,000 blocks or tensors and
5,000 unknown names made 25 million comparisons (minutes). A :class:`NameIndex` keeps the names of
one scope; up to :data:`EXACT` of them it answers exactly as ``did_you_mean`` does. Above that it
indexes the names once (every one-character deletion, and every trigram) and compares the name
only with the candidates that share a deletion with it (one edit away) and the few that share most
of its rarer trigrams: each suggestion costs time in proportion to the name's length, not to the
scope's size.
Names are only ever added, so a growing scope (a net's tensors) extends its index incrementally.
"""

from __future__ import annotations

from collections.abc import Iterable

from archdsl.diagnostics import did_you_mean

EXACT = 100
"""Up to this many candidates a suggestion compares with all of them (exactly as did_you_mean)."""
MAX_INDEXED_LEN = 40
"""Longer names are indexed by their trigrams only (a deletion per character would cost too much)."""
RARE = 16
"""A trigram shared by more names than this says too little to shortlist them."""
SHORTLIST = 8
"""Of the names sharing rare trigrams with the name, the ones sharing most are compared."""


def _grams(name: str) -> set[str]:
    padded = f"^{name}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _deletions(name: str) -> set[str]:
    return {name[:i] + name[i + 1 :] for i in range(len(name))} | {name}


class NameIndex:
    """The names of one scope, for suggestions; indexed lazily once there are more than EXACT."""

    __slots__ = ("_dels", "_grams", "_indexed", "_known", "names")

    def __init__(self, names: Iterable[str] = ()):
        self.names: list[str] = []
        self._known: set[str] = set()
        self._dels: dict[str, list[str]] = {}
        self._grams: dict[str, list[str]] = {}
        self._indexed = 0  # how many of self.names the index covers
        self.extend(names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._known

    def extend(self, names: Iterable[str]) -> None:
        for n in names:
            if n not in self._known:
                self._known.add(n)
                self.names.append(n)

    def _index(self) -> None:
        for n in self.names[self._indexed :]:
            if len(n) <= MAX_INDEXED_LEN:
                for d in _deletions(n):
                    self._dels.setdefault(d, []).append(n)
            for g in _grams(n):
                self._grams.setdefault(g, []).append(n)
        self._indexed = len(self.names)

    def shortlist(self, name: str) -> list[str]:
        """The candidates worth comparing with ``name``: all of them while there are few."""
        if len(self.names) <= EXACT:
            return self.names
        self._index()
        out: set[str] = set()
        if len(name) <= MAX_INDEXED_LEN:
            for d in _deletions(name):
                out.update(self._dels.get(d, ()))
        shared: dict[str, int] = {}
        for g in _grams(name):
            post = self._grams.get(g, ())
            if len(post) <= RARE:
                for n in post:
                    shared[n] = shared.get(n, 0) + 1
        out.update(sorted(shared, key=lambda n: (-shared[n], n))[:SHORTLIST])
        return sorted(out)


def suggest(name: str, *indexes: NameIndex) -> str | None:
    """``did you mean ...?`` over the names of several scopes, or None when nothing is close."""
    if sum(len(ix) for ix in indexes) <= EXACT:
        return did_you_mean(name, {n for ix in indexes for n in ix.names})
    return did_you_mean(name, {n for ix in indexes for n in ix.shortlist(name)})
