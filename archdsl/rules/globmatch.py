"""Path globs for ``per-file-ignores``, matched in time linear in the path's length.

A glob is translated into a small NFA and run with bit-parallel state sets (one Python integer
holds every active state), so a path of ``n`` characters costs ``n`` steps of a few integer
operations whatever the pattern: there is no backtracking. A regular-expression translation
(``re`` backtracks) took seconds for ``"**a**a**a**a**a**a**a**a**b"`` against a 40-character
name.

The syntax (docs/lint.md, "Configuration"):

* ``*`` matches any run of characters within one folder (not ``/``);
* ``?`` matches one character other than ``/``;
* ``**/`` matches any number of whole folders, including none (``specs/**/*.arch`` matches
  ``specs/a.arch`` and ``specs/x/y/a.arch``);
* ``**`` elsewhere matches anything, ``/`` included (``specs/**`` matches everything below
  ``specs/``);
* every other character, ``[`` and ``\\`` included, matches itself.

The whole path must match. Globs longer than :data:`MAX_GLOB_CHARS` are refused by the
configuration loader.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_GLOB_CHARS", "Glob"]

#: the longest glob accepted in a configuration (a path glob longer than any path makes no sense)
MAX_GLOB_CHARS = 1024

_LIT, _ONE, _STAR, _DSTAR, _DIRS = range(5)  # literal, ?, *, ** (anything), **/ (whole folders)
_STARS = (_STAR, _DSTAR, _DIRS)


def _tokens(pattern: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append((_DIRS, ""))
            i += 3
        elif pattern.startswith("**", i):
            out.append((_DSTAR, ""))
            i += 2
        else:
            c = pattern[i]
            out.append((_STAR, "") if c == "*" else (_ONE, "") if c == "?" else (_LIT, c))
            i += 1
    return _normalise(out)


def _normalise(tokens: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Collapse each run of star tokens to at most two equivalent ones.

    Every star token matches the empty string, so within a run: any ``**`` makes the run ``**``;
    ``**/`` followed (later in the run) by ``*`` is ``**`` too (split any string at its last
    ``/``); otherwise the run is ``*``s then ``**/``s, and ``* *`` = ``*``, ``**/ **/`` = ``**/``.
    This keeps chains of empty moves short, so one input character is a bounded amount of work.
    """
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(tokens):
        if tokens[i][0] not in _STARS:
            out.append(tokens[i])
            i += 1
            continue
        j = i
        while j < len(tokens) and tokens[j][0] in _STARS:
            j += 1
        kinds = [k for k, _ in tokens[i:j]]
        first_dirs = kinds.index(_DIRS) if _DIRS in kinds else None
        if _DSTAR in kinds or (first_dirs is not None and _STAR in kinds[first_dirs:]):
            out.append((_DSTAR, ""))
        else:
            if _STAR in kinds:
                out.append((_STAR, ""))
            if first_dirs is not None:
                out.append((_DIRS, ""))
        i = j
    return out


@dataclass(frozen=True)
class Glob:
    """A compiled glob: ``Glob("specs/**/*.arch").match("specs/a/b.arch")``."""

    pattern: str
    _final: int
    _eps1: int  # states with an empty move to the next state
    _eps2: int  # states with an empty move two states on (skipping the folder loop of **/)
    _adv: dict[str, int]  # per literal character (and "/"): states that consume it and advance
    _loop: dict[str, int]  # per literal character (and "/"): states that consume it and stay
    _adv_other: int  # the same for any character that is neither a literal of the pattern nor "/"
    _loop_other: int
    _start: int

    @classmethod
    def compile(cls, pattern: str) -> Glob:
        tokens = _tokens(pattern)
        # states, one bit each: token k starts at state pos[k]; **/ owns two (entry, folder loop)
        lits = {c for kind, c in tokens if kind == _LIT} | {"/"}
        adv = dict.fromkeys(lits, 0)
        loop = dict.fromkeys(lits, 0)
        adv_other = loop_other = eps1 = eps2 = 0
        s = 0
        for kind, c in tokens:
            bit = 1 << s
            if kind == _LIT:
                adv[c] |= bit
                s += 1
            elif kind == _ONE:  # any character but "/"
                adv_other |= bit
                for ch in lits - {"/"}:
                    adv[ch] |= bit
                s += 1
            elif kind in (_STAR, _DSTAR):
                eps1 |= bit
                loop_other |= bit
                for ch in lits - {"/"}:
                    loop[ch] |= bit
                if kind == _DSTAR:
                    loop["/"] |= bit
                s += 1
            else:  # **/ : empty, or any characters ending in "/"
                eps1 |= bit  # entry -> folder loop
                eps2 |= bit  # entry -> after the token (no folders)
                inner = bit << 1
                loop_other |= inner
                for ch in lits:
                    loop[ch] |= inner
                adv["/"] |= inner  # the loop's last "/" ends the token
                s += 2
        glob = cls(pattern, 1 << s, eps1, eps2, adv, loop, adv_other, loop_other, 0)
        object.__setattr__(glob, "_start", glob._close(1))
        return glob

    def _close(self, d: int) -> int:
        """Add the states reachable by empty moves (a few rounds: star runs are normalised)."""
        e1, e2 = self._eps1, self._eps2
        while True:
            nd = d | ((d & e1) << 1) | ((d & e2) << 2)
            if nd == d:
                return d
            d = nd

    def match(self, path: str) -> bool:
        """Whether the whole of ``path`` matches the glob."""
        d = self._start
        adv, loop = self._adv, self._loop
        ao, lo = self._adv_other, self._loop_other
        for ch in path:
            a = adv.get(ch)
            if a is None:
                a, lp = ao, lo
            else:
                lp = loop[ch]
            d = self._close(((d & a) << 1) | (d & lp))
            if not d:
                return False
        return bool(d & self._final)
