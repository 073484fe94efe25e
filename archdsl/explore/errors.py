"""The one error type of ``archdsl explore``: a message, a ``= help:`` line and an exit code.

Bad command lines (an unknown objective, a malformed storage URL, a study created with other
objectives) are usage errors (exit 2); a storage server that cannot be reached or a missing
optional dependency are tool failures (exit 3). Spec errors stay :class:`DiagnosticError`\\ s.
"""

from __future__ import annotations

USAGE = 2
TOOL = 3


class ExploreError(Exception):
    """A user-facing failure of ``archdsl explore``; the CLI prints it without a traceback."""

    def __init__(self, message: str, help: str | None = None, exit_code: int = USAGE):
        super().__init__(message)
        self.message = message
        self.help = help
        self.exit_code = exit_code


def missing_optuna() -> ExploreError:
    return ExploreError("archdsl explore needs Optuna, which is not installed", "pip install 'archdsl[explore]'", TOOL)


def require_optuna():
    """``import optuna``, quietly: Optuna logs every trial, and a failed one with its traceback;
    archdsl reports them itself."""
    try:
        import optuna
    except ImportError:
        raise missing_optuna() from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna
