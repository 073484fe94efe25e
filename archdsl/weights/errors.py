"""What goes wrong with a weights file, said once for every backend.

The readers and the check against a spec raise :class:`WeightsError`, which holds one or more
:class:`Problem` (message, location in the spec, help). A backend turns it into its own
diagnostics with :meth:`WeightsError.diagnostics`, under the hook's shared codes
(:mod:`archdsl.codes`): B008 a file that cannot be read, B009 one that does not fit the spec, B003
a ``.pt`` file without torch. Both backends refuse the same files with the same words and codes.
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

    def __init__(
        self,
        problems: str | list[Problem],
        help: str | None = None,
        *,
        needs: str | None = None,
        fits: bool = True,
    ):
        if isinstance(problems, str):
            problems = [Problem(problems, None, help)]
        self.problems: list[Problem] = problems
        self.needs = needs
        self.fits = fits  # False: the file was read, but its tensors do not fit the spec
        super().__init__(problems[0].message)

    @property
    def code(self) -> str:
        """B003 (a missing package), B009 (does not fit the spec) or B008 (cannot be read)."""
        if self.needs:
            return "B003"
        return "B008" if self.fits else "B009"

    def diagnostics(self, where: Span | None = None) -> list[Diagnostic]:
        """One diagnostic per problem under :attr:`code`; ``where`` locates the unlocated ones."""
        return [Diagnostic(self.code, p.message, p.span or where, Severity.ERROR, p.help) for p in self.problems]


__all__ = ["FILE_HELP", "Problem", "WeightsError"]
