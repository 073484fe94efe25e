"""AQ001 unused-noqa: suppression comments that suppress nothing.

The check itself runs in the engine (it needs every other rule's findings first); this class
carries the code, the documentation and the severity.
"""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.rules.base import Rule


class UnusedNoqa(Rule):
    """
    ## What it does
    Flags a suppression comment (`# archdsl: noqa CODE`) that suppresses nothing.

    Either no finding with that code starts on its line (or, for `noqa-file`, in the file), or
    the code is no rule at all. Codes of rules that are not selected for the file are not judged.

    ## Why is this bad?
    A stale suppression hides the next real finding of that code on the line, and tells readers
    about a problem that is no longer there. Unknown codes are usually typos that suppress
    nothing.

    ## Example
    ```arch
    net example {
        input image [3, 32, 32]
        meta { imagenet_top1 = 76.0 }
        stem = conv(16, k = 3) -> bn -> relu  # archdsl: noqa AD102
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 32, 32]
        meta { imagenet_top1 = 76.0 }
        stem = conv(16, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AQ001"
    name = "unused-noqa"
    severity = Severity.WARNING
