"""``archdsl report``: draw the AttendNeXt paper's figures from the results store (matplotlib).

The figures and the data behind them are :mod:`archdsl.bench.report`; matplotlib is
imported only when the command runs. See docs/bench.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import EXIT_USAGE, fail_tool

EPILOG = """Examples:

\b
  archdsl bench specs/attendnext.arch specs/baselines/*.arch --target a72 --baseline fbnetc_100
  archdsl report --target a72 --baseline fbnetc_100 -o report/
  archdsl report --store results.sqlite --target host --threads 1 --format svg

Writes fig2_accuracy, fig3a_throughput, fig3b_size and accuracy_latency (PNG and SVG) and
report_data.json / report_data.csv with every plotted value and the store row it came from.
Accuracy comes from each spec's meta (imagenet_top1), sizes from the IR's parameter count,
latencies from the newest stored run per net.

Exit codes: 0 written; 2 bad option (-o is a file, --store is a folder); 3 nothing to plot
(empty store, unknown target or baseline), the store is not a results store or is damaged,
the folder cannot be written, or matplotlib missing (pip install 'archdsl[bench]').
"""


@app.command(epilog=EPILOG)
def report(
    store_path: Path = typer.Option(None, "--store", help="Results store (default .archdsl/results.sqlite)."),
    target: str = typer.Option(None, "--target", "-t", help="Whose results (default: of the newest run)."),
    baseline: str = typer.Option(None, "--baseline", "-B", help="Net whose throughput is 1x in Figure 3a."),
    threads: int = typer.Option(None, "--threads", "-j", min=1, help="Thread count to plot (default: most common)."),
    output: Path = typer.Option(Path("report"), "--output", "-o", help="Folder for the figures."),
    formats: list[str] = typer.Option(None, "--format", "-f", help="png and/or svg (repeatable; default both)."),
    highlight: str = typer.Option("attendnext", "--highlight", help="Colour nets whose name starts with this."),
) -> None:
    """Draw the paper's figures from stored results: accuracy, relative throughput, size, accuracy vs latency.

    The figures follow the AttendNeXt paper: Figure 2 (accuracy), Figure 3a (throughput relative to a
    baseline), Figure 3b (model size), plus an accuracy-vs-latency scatter.
    """
    from archdsl.bench.report import FORMATS, ReportError, draw, select
    from archdsl.bench.store import DEFAULT_PATH, Store, StoreError

    fmts = tuple(formats or FORMATS)
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise typer.BadParameter(f"unknown format {bad[0]!r} (png, svg)", param_hint="--format")
    path = store_path or DEFAULT_PATH
    if not Path(path).exists():
        hint = "run `archdsl bench SPEC... --target NAME` first, or pass --store"
        raise fail_tool(f"no results store at {path}", hint) from None
    _check_output_folder(output)
    try:
        with Store(path) as store:
            data = select(store, target, baseline, threads)
    except (ReportError, StoreError) as exc:
        err = fail_tool(exc.message, exc.hint)
        if getattr(exc, "usage", False):
            err.exit_code = EXIT_USAGE
        raise err from None
    try:
        files = draw(data, output, fmts, highlight or None)
    except ImportError as exc:
        hint = "pip install 'archdsl[bench]'"
        raise fail_tool(f"the report needs {exc.name}, which is not installed", hint) from None
    except OSError as exc:
        where = exc.filename or output
        raise fail_tool(
            f"cannot write {where}: {exc.strerror or exc}", "pass -o with a folder you can write to"
        ) from None
    label = " (ESTIMATES)" if data.estimate else ""
    sys.stderr.write(f"{len(data.rows)} net(s), target {data.target}{label}, {data.threads} thread(s)\n")
    for f in files:
        typer.echo(f"wrote {f}")


def _check_output_folder(output: Path) -> None:
    """-o names a folder: an existing file there is a usage error (exit 2), not a traceback."""
    if output.exists() and not output.is_dir():
        err = fail_tool(f"{output} is not a folder", "-o names the folder the figures go to, e.g. -o report/")
        err.exit_code = EXIT_USAGE
        raise err
