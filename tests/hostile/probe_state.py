"""Run in fork-server children by tests/test_hostile_forkserver.py: the module-level state a case leaves.

Prints, as JSON, what a fresh ``python -m archdsl`` would find untouched (the std-library cache,
fileio's record of inputs and pending outputs, the typer app, the SIGTERM handler, the working
folder, ``sys.path[0]``, ``sys.argv``). With ``--dirty`` it first leaves some of that behind, as a
run of ``archdsl`` does, so the test can see the next child start clean again.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import archdsl.cli as cli
from archdsl import fileio
from archdsl.resolve import program

if "--dirty" in sys.argv:
    spec = os.path.join(os.getcwd(), "dirty.arch")
    with open(spec, "w") as f:
        f.write("import std\n\nnet n {\n    input x [3, 8, 8]\n    y = conv(4) -> relu\n}\n")
    program.load_program(spec)  # fills the std-library cache and records the file as an input
    cli.get_app()
    fileio.install_signal_handlers()
    fileio._PENDING.add("/nonexistent/pending")

print(
    json.dumps(
        {
            "std_cache": len(program._STD_CACHE),
            "inputs": len(fileio._INPUTS) + len(fileio._INPUT_PATHS),
            "pending": len(fileio._PENDING),
            "app": cli._app is not None,
            "sigterm_default": signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
            "cwd": os.getcwd(),
            "path0": sys.path[0],
            "argv": sys.argv[1:],
            "name": __name__,
            "pid": os.getpid(),
            "sid": os.getsid(0),
        }
    )
)
