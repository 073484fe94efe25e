"""The one table of archdsl's diagnostic codes (E: the compiler, B: backends), and their exit codes.

Every ``E`` and ``B`` code a diagnostic of archdsl may carry is listed here once, with a short name,
a summary, its *kind* and its owner (the layer or backend that raises it). The kind decides the
command line's exit status (:func:`exit_code`), so no command compares code strings:

=========  ====  ==================================================================================
kind       exit  meaning
=========  ====  ==================================================================================
``spec``   1     the input is wrong: the spec, or a file given with it (a weights file)
``usage``  2     the command line is wrong: an unknown backend, option or artefact, a bad value
``tool``   3     the tool failed or lacks something: a missing optional dependency, a failed program
=========  ====  ==================================================================================

Each owner has its own range (:data:`RANGES`): ``B0xx`` what every backend shares (the hook,
options, artefacts, weights files), ``B1xx`` torch, ``B2xx`` onnx, ``B3xx`` graphviz, ``B4xx`` the
benchmark targets, ``B9xx`` third-party backends (archdsl never uses it). A code is never reused:
when a meaning moves, the old code is retired and listed in :data:`REDIRECTS` (as ruff's
``codes.rs`` redirects renamed rules). Lint codes (two letters and three digits, e.g. ``AR206``)
live in ``archdsl/rules/registry.py``. docs/errors.md is generated from this module
(``scripts/gen_code_docs.py``), and tests/test_codes.py checks that every code literal in the
sources is in the table. Standard library only: every layer may import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    SPEC = "spec"
    USAGE = "usage"
    TOOL = "tool"


EXIT = {Kind.SPEC: 1, Kind.USAGE: 2, Kind.TOOL: 3}
KIND_MEANING = {
    Kind.SPEC: "the input is wrong: the spec, or a file given with it (a weights file)",
    Kind.USAGE: "the command line is wrong: an unknown backend, option or artefact, or a bad option value",
    Kind.TOOL: "the tool failed or lacks something: a missing optional dependency, a failed external program",
}
PATTERN = re.compile(r"\b[EB]\d{3}\b")  # how a code of this table looks (lint codes have two letters)


@dataclass(frozen=True)
class Code:
    code: str
    name: str  # kebab-case, stable: what a person searches for
    kind: Kind
    owner: str
    summary: str

    @property
    def exit(self) -> int:
        return EXIT[self.kind]


@dataclass(frozen=True)
class Range:
    first: str
    last: str
    owner: str
    where: str
    about: str

    def holds(self, code: str) -> bool:
        return code[0] == self.first[0] and self.first <= code <= self.last


@dataclass(frozen=True)
class Redirect:
    """A retired code: what it meant (for one owner) and the code(s) that mean it now."""

    old: str
    owner: str
    meant: str
    new: tuple[str, ...]


S, U, T = Kind.SPEC, Kind.USAGE, Kind.TOOL

RANGES: tuple[Range, ...] = (
    Range("E100", "E199", "syntax", "archdsl/syntax", "reading and parsing a spec file"),
    Range("E200", "E299", "names", "archdsl/resolve", "names, definitions and expressions"),
    Range("E300", "E399", "arguments", "archdsl/resolve, archdsl/ops", "arguments, parameters and statements"),
    Range("E400", "E499", "shapes", "archdsl/ops", "tensor shapes and layouts"),
    Range("E500", "E599", "limits", "archdsl/resolve", "the resolver's size and work limits"),
    Range("E600", "E699", "imports", "archdsl/resolve/program.py", "imports and the files of a program"),
    Range(
        "B000", "B099", "hook", "archdsl/backend.py", "shared by every backend: the hook, options, artefacts, weights"
    ),
    Range("B100", "B199", "torch", "backends/torch", "the PyTorch backend"),
    Range("B200", "B299", "onnx", "backends/onnx", "the ONNX backend"),
    Range("B300", "B399", "graphviz", "backends/graphviz", "the Graphviz renderer"),
    Range("B400", "B499", "bench", "archdsl/bench, archdsl/analysis", "benchmark targets and the latency model"),
    Range("B500", "B599", "evaluators", "archdsl/evaluators", "accuracy evaluators: zero-cost proxies, short training"),
    Range("B900", "B999", "third-party", "a third-party package", "third-party backends; archdsl never uses these"),
)

_TABLE: tuple[Code, ...] = (
    # ---- E1xx: syntax ------------------------------------------------------------------------------
    Code(
        "E100",
        "syntax-error",
        S,
        "syntax",
        "a token the grammar does not expect there, or a reserved word used as a name",
    ),
    Code("E101", "unexpected-character", S, "syntax", "a character that starts no token (a NUL byte included)"),
    Code("E102", "unexpected-end-of-file", S, "syntax", "the file ends in the middle of a statement"),
    Code("E103", "bad-number", S, "syntax", "a number literal that is too long or out of range"),
    Code("E104", "bad-string", S, "syntax", "an unknown escape sequence in a string"),
    Code("E105", "file-too-large", S, "syntax", "a spec file above 4 MiB or 50,000 tokens, or one that cannot be read"),
    Code("E106", "nested-too-deeply", S, "syntax", "groups or expressions nested too deeply to parse or resolve"),
    Code("E107", "not-utf8", S, "syntax", "a spec file that is not UTF-8 text (located at the first bad byte)"),
    Code("E108", "two-statements-on-a-line", S, "syntax", "two statements or elements on one line"),
    # ---- E2xx: names and expressions ---------------------------------------------------------------
    Code("E201", "unknown-op", S, "names", "an unknown op or block"),
    Code("E202", "unknown-name", S, "names", "an unknown name in an expression"),
    Code("E203", "unknown-function", S, "names", "an unknown function in an expression"),
    Code("E204", "unknown-net", S, "names", "no net, or no net of the asked name, in the file"),
    Code("E210", "duplicate-definition", S, "names", "a block or net defined twice"),
    Code("E211", "block-named-like-an-op", S, "names", "a block with the name of a primitive op"),
    Code("E220", "recursive-block", S, "names", "a block that uses itself"),
    Code("E221", "recursive-extends", S, "names", "a net that extends itself"),
    Code("E230", "tensor-used-as-op", S, "names", "a tensor where an op or block is expected"),
    Code("E231", "tensor-misplaced", S, "names", "a tensor repeated, or anywhere but at the start of a pipeline"),
    Code("E232", "parameter-used-as-op", S, "names", "a parameter where an op or block is expected"),
    Code("E240", "duplicate-name", S, "names", "a tensor or parameter name given twice"),
    Code("E241", "reserved-name", S, "names", "a reserved name (the block input, an op or block) used for a tensor"),
    Code("E242", "duplicate-path", S, "names", "two ops with the same path"),
    Code("E243", "duplicate-meta-key", S, "names", "a meta key given twice, or a meta value of the wrong type"),
    Code("E250", "unknown-attribute", S, "names", "an attribute a value does not have (tensors have .c, .h, .w)"),
    Code("E260", "arithmetic-error", S, "names", "arithmetic or a comparison on values of the wrong type"),
    Code("E261", "condition-error", S, "names", "a condition that is not true or false"),
    Code("E299", "unsupported-expression", S, "names", "an expression or element the resolver does not handle"),
    # ---- E3xx: arguments and statements ------------------------------------------------------------
    Code("E302", "unknown-argument", S, "arguments", "an argument or net parameter that does not exist"),
    Code("E303", "too-many-arguments", S, "arguments", "more positional arguments than there are parameters"),
    Code("E304", "missing-argument", S, "arguments", "a required argument or net parameter without a value"),
    Code("E305", "misplaced-argument", S, "arguments", "an argument given twice, or positional after keyword"),
    Code("E306", "empty-body", S, "arguments", "a net without ops, or a block without statements"),
    Code("E307", "misplaced-statement", S, "arguments", "a second input, or input/meta inside a block"),
    Code("E308", "misplaced-first", S, "arguments", "first(...) where it does not apply"),
    Code("E309", "no-input", S, "arguments", "a net without input, or a pipeline nothing flows into"),
    Code("E310", "wrong-input-count", S, "arguments", "too few or too many inputs for an op"),
    Code(
        "E311",
        "input-as-argument",
        S,
        "arguments",
        "an op's input given as an argument instead of through the pipeline",
    ),
    Code("E320", "wrong-type", S, "arguments", "an argument or value of the wrong type"),
    Code("E321", "out-of-range", S, "arguments", "an argument value out of its range"),
    Code(
        "E330", "columns-mismatch", S, "arguments", "a columns count that does not match its body, or all columns off"
    ),
    # search spaces (archdsl/space/, docs/language.md "Search spaces")
    Code("E340", "duplicate-space-entry", S, "arguments", "a parameter given twice in a space"),
    Code("E341", "empty-domain", S, "arguments", "an empty choice, a value listed twice, a range with lo > hi"),
    Code("E342", "bad-domain-step", S, "arguments", "a domain step of 0 or less, or one that does not divide hi - lo"),
    Code("E343", "bad-log-domain", S, "arguments", "a log-scale range with lo of 0 or less, or with a step"),
    Code(
        "E344",
        "domain-type-mismatch",
        S,
        "arguments",
        "int() bounds that are not integers, or a domain value whose type does not fit the parameter's default",
    ),
    Code(
        "E345",
        "bad-space-meta",
        S,
        "arguments",
        "a space meta value of the wrong type, an unknown lint rule in constraint, min above max",
    ),
    Code("E346", "unknown-space", S, "arguments", "no space, or no space of the asked name, in the file"),
    Code("E347", "space-point-fails", S, "arguments", "a point of a space (sampled by check) that does not resolve"),
    # ---- E4xx: shapes ------------------------------------------------------------------------------
    Code("E401", "bad-input-shape", S, "shapes", "an input of the wrong shape (a net input, or an op's)"),
    Code("E402", "wrong-layout", S, "shapes", "a tensor of the wrong layout for an op (image, tokens, vector)"),
    Code("E403", "bad-spatial-size", S, "shapes", "a spatial size that shrinks to zero or does not fit the patches"),
    Code("E404", "channels-not-divisible", S, "shapes", "groups, heads or a split that do not divide the channels"),
    Code("E405", "bad-padding", S, "shapes", "padding more than half the window"),
    Code("E406", "shape-mismatch", S, "shapes", "a merge (add, mul, concat) of tensors whose shapes do not fit"),
    # ---- E5xx: limits ------------------------------------------------------------------------------
    Code("E501", "dimension-limit", S, "limits", "a dimension or a nesting depth above its limit"),
    Code("E502", "size-limit", S, "limits", "a tensor, repeat or columns count above its limit"),
    Code("E503", "parameter-limit", S, "limits", "a net with too many parameters"),
    Code("E504", "op-limit", S, "limits", "a net with too many ops"),
    Code("E505", "value-limit", S, "limits", "a value that is not finite or above 1e18 in magnitude"),
    Code("E506", "work-limit", S, "limits", "resolving the spec takes more steps than allowed"),
    # ---- E6xx: imports -----------------------------------------------------------------------------
    Code("E601", "import-cycle", S, "imports", "files that import each other"),
    Code("E602", "unreadable-import", S, "imports", "a file that is missing or not a regular file (at the import)"),
    Code("E603", "unknown-library", S, "imports", "an unknown library"),
    Code("E604", "program-limit", S, "imports", "too many files, imports nested too deeply, or too large together"),
    # ---- B0xx: every backend -----------------------------------------------------------------------
    Code("B001", "unsupported-op", S, "hook", "an op the backend cannot express (with the chosen options), at the op"),
    Code("B002", "unknown-backend", U, "hook", "no installed backend has this name"),
    Code("B003", "missing-dependency", T, "hook", "an optional package the backend needs is not installed"),
    Code("B004", "unknown-option", U, "hook", "an option (-O KEY=VALUE) the backend does not have"),
    Code(
        "B005", "invalid-option", U, "hook", "an option value of the wrong type, out of range, or at odds with another"
    ),
    Code("B006", "unknown-artefact", U, "hook", "an artefact (--emit) or format the backend cannot write"),
    Code("B007", "missing-capability", U, "hook", "the backend cannot do what was asked (build a module, render)"),
    Code(
        "B008",
        "unreadable-weights",
        S,
        "hook",
        "a weights file that is missing, not a regular file, too large or malformed",
    ),
    Code(
        "B009",
        "weights-mismatch",
        S,
        "hook",
        "weights that do not fit the net: missing, unexpected or mis-shaped tensors",
    ),
    # ---- B1xx: torch -------------------------------------------------------------------------------
    Code(
        "B101", "bad-submodule-name", S, "torch", "a path that cannot name a PyTorch submodule, or nests one in another"
    ),
    Code("B104", "export-failed", T, "torch", "torch.export could not export the module"),
    # ---- B2xx: onnx --------------------------------------------------------------------------------
    Code("B201", "too-large-to-embed", S, "onnx", "weights above 2 GB that were asked to stay inside the .onnx"),
    Code("B202", "output-name-taken", U, "onnx", "an output_name that is already the name of a tensor of the graph"),
    Code(
        "B203", "bad-calibration", U, "onnx", "a --calibration folder that is missing, empty or holds an unusable file"
    ),
    Code(
        "B204", "quantize-failed", T, "onnx", "onnxruntime's quantisation tools are missing or failed (--quantize int8)"
    ),
    # ---- B3xx: graphviz ----------------------------------------------------------------------------
    Code(
        "B301", "dot-not-found", T, "graphviz", "the Graphviz 'dot' program is not installed (needed for svg, png, pdf)"
    ),
    Code("B302", "dot-failed", T, "graphviz", "the Graphviz 'dot' program failed"),
    Code("B401", "no-cost", S, "bench", "an op that declares no cost: the latency model cannot predict the spec"),
    Code("B402", "no-machine-constants", S, "bench", "an op's cost kind has no efficiency constants on the machine"),
    # the emulated Cortex-A72 (archdsl bench setup-emulator, --target emulated-a72)
    Code("B410", "emulator-tool-missing", T, "bench", "qemu-user-static, apt/dpkg or a mount namespace is unavailable"),
    Code("B411", "unsafe-emulator-cache", T, "bench", "an emulator folder that is not yours alone (owner, mode, link)"),
    Code("B412", "emulator-download-failed", T, "bench", "setup-emulator could not download the pinned packages"),
    Code("B413", "checksum-mismatch", T, "bench", "a downloaded file whose SHA-256 is not the pinned one"),
    Code("B414", "emulator-not-set-up", T, "bench", "the emulator folder is absent, incomplete or for other pins"),
    # ---- B5xx: accuracy evaluators -----------------------------------------------------------------
    Code("B501", "unknown-evaluator", U, "evaluators", "no installed evaluator has this name"),
    Code("B502", "evaluator-missing-dependency", T, "evaluators", "a package an evaluator needs is not installed"),
    Code("B503", "unknown-evaluator-option", U, "evaluators", "an option the evaluator does not have"),
    Code("B504", "invalid-evaluator-option", U, "evaluators", "an evaluator option of the wrong type or out of range"),
    Code(
        "B505",
        "over-evaluator-budget",
        T,
        "evaluators",
        "a net too big for the evaluator's memory budget (refused before anything is allocated)",
    ),
    Code(
        "B506",
        "unreadable-dataset",
        S,
        "evaluators",
        "a dataset folder that is missing, malformed, too large, or holds a file that is not an image",
    ),
    Code(
        "B507",
        "evaluation-failed",
        T,
        "evaluators",
        "the evaluator cannot score this net (no suitable layers, a smaller input it does not fit, NaN)",
    ),
)

CODES: dict[str, Code] = {c.code: c for c in _TABLE}

REDIRECTS: tuple[Redirect, ...] = (
    Redirect("B100", "graphviz", "any rendering error (a base class, never raised itself)", ()),
    Redirect("B101", "onnx", "an unknown option", ("B004",)),
    Redirect("B101", "onnx", "a bad option value, an opset out of range, conflicting options", ("B005",)),
    Redirect("B101", "onnx", "an artefact it cannot emit", ("B006",)),
    Redirect("B101", "onnx", "more than 2 GB of weights to keep in the .onnx", ("B201",)),
    Redirect("B101", "onnx", "an output_name that names a tensor of the graph", ("B202",)),
    Redirect(
        "B101",
        "graphviz",
        "an unknown option, a bad option value or format, a focus path naming nothing",
        ("B004", "B005", "B006"),
    ),
    Redirect(
        "B102", "torch", "an unknown option, a bad option value, an artefact it cannot emit", ("B004", "B005", "B006")
    ),
    Redirect("B102", "onnx", "a weights file that cannot be read, or does not fit the net", ("B008", "B009")),
    Redirect("B102", "graphviz", "the 'dot' program not found", ("B301",)),
    Redirect("B103", "torch", "a weights file that cannot be read, or does not fit the net", ("B008", "B009")),
    Redirect("B103", "onnx", "a .pt weights file where torch is not installed", ("B003",)),
    Redirect("B103", "graphviz", "the 'dot' program failed", ("B302",)),
)
"""Retired codes. B101 keeps its torch meaning (a submodule name); its other meanings moved."""

RETIRED = frozenset(r.old for r in REDIRECTS) - set(CODES)


def get(code: str) -> Code | None:
    return CODES.get(code)


def range_of(code: str) -> Range | None:
    return next((r for r in RANGES if r.holds(code)), None)


def kind_of(code: str) -> Kind:
    """A code's kind. Codes not in the table (a third-party backend's B9xx, a lint code) are ``spec``."""
    known = CODES.get(code)
    return known.kind if known is not None else Kind.SPEC


def exit_code(diags) -> int:
    """The exit status for a diagnostic or a list of them: 0 when none is an error, else the
    highest exit of their kinds (a missing dependency outranks a bad option, which outranks a
    spec error)."""
    if not isinstance(diags, Iterable):
        diags = [diags]
    errors = [d for d in diags if str(getattr(d, "severity", "error")) == "error"]  # Severity is a StrEnum
    if not errors:
        return 0
    return max(EXIT[kind_of(d.code)] for d in errors)


def is_usage(diag) -> bool:
    """True for a diagnostic that is the command line's fault (a bad option): exit 2."""
    return kind_of(diag.code) is Kind.USAGE
