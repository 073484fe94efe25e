"""What goes wrong with a weights file, said once for every backend.

The readers and the check against a spec raise :class:`WeightsError`, which holds one or more
:class:`Problem` (message, location in the spec, help). A backend turns it into its own
diagnostics with :meth:`WeightsError.diagnostics` (the ONNX backend's code is B102, the PyTorch
backend's B103), so both refuse the same files with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from archdsl.diagnostics import Diagnostic, Severity, Span

FILE_HELP = (
    "pass a .safetensors file (archdsl compile -b onnx -e safetensors writes one), a numpy .npz or a torch state_dict"
)


@dataclass(frozen=True)
class Problem:
    message: str
    span: Span | None = None
    help: str | None = None


class WeightsError(ValueError):
    """A weights file that cannot be used. ``needs`` names a missing optional package (``torch``
    for a ``.pt`` file), which backends report as a missing dependency rather than a bad file."""

    def __init__(self, problems: str | list[Problem], help: str | None = None, *, needs: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems, None, help)]
        self.problems: list[Problem] = problems
        self.needs = needs
        super().__init__(problems[0].message)

    def diagnostics(self, code: str, where: Span | None = None) -> list[Diagnostic]:
        """One diagnostic per problem under ``code``; ``where`` locates the unlocated ones."""
        return [Diagnostic(code, p.message, p.span or where, Severity.ERROR, p.help) for p in self.problems]


__all__ = ["FILE_HELP", "Problem", "WeightsError"]
