"""The names visible in one net or block instance, and how hierarchical paths are joined."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archdsl.diagnostics import Diagnostic, DiagnosticError, Span
from archdsl.resolve.expr import Evaluator
from archdsl.resolve.suggest import NameIndex
from archdsl.resolve.values import POISON, TensorVal

BLOCK_INPUT = "in"


def seg_join(prefix: str, seg: str) -> str:
    return f"{prefix}.{seg}" if prefix else seg


@dataclass
class Frame:
    """Names visible in one net or block instance.

    Names are only ever added (a second definition is E240), through :meth:`bind` and
    :meth:`poison`, so the indexes for did-you-mean help
    (every name, and the tensors only) are made on the first error that asks and then extended.
    """

    values: dict[str, Any]
    spans: dict[str, Span]
    chain: tuple[str, ...] = ()
    evaluator: Evaluator | None = field(default=None, repr=False, compare=False)
    _names: NameIndex | None = field(default=None, repr=False, compare=False)
    _tensors: NameIndex | None = field(default=None, repr=False, compare=False)
    _order: list[str] = field(default_factory=list, repr=False, compare=False)  # the names, as added
    _synced: int = field(default=0, repr=False, compare=False)

    def bind(self, name: str, value: Any, span: Span) -> None:
        if name in self.values:
            prev = self.spans.get(name)
            raise DiagnosticError(
                Diagnostic(
                    "E240", f"'{name}' is already defined", span, notes=(f"first defined at {prev}",) if prev else ()
                )
            )
        self.values[name] = value
        self.spans[name] = span
        self._order.append(name)

    def poison(self, name: str, span: Span | None = None) -> None:
        """``name``'s definition failed (and was reported): later uses raise Poisoned."""
        if name not in self.values:
            self.values[name] = POISON
            self._order.append(name)
            if span is not None:
                self.spans[name] = span

    def _sync(self) -> tuple[NameIndex, NameIndex]:
        if self._names is None or self._tensors is None:
            self._names, self._tensors = NameIndex(), NameIndex()
        if self._synced < len(self._order):
            new = self._order[self._synced :]
            self._names.extend(new)
            self._tensors.extend(k for k in new if isinstance(self.values[k], TensorVal))
            self._synced = len(self._order)
        return self._names, self._tensors

    def names(self) -> NameIndex:
        """Every name of the frame, for did-you-mean help."""
        return self._sync()[0]

    def tensors(self) -> NameIndex:
        """The names of the frame's tensors, for did-you-mean help."""
        return self._sync()[1]
