"""AS303 shadowed-name: a parameter named like an op or a block."""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.ops import OPS
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext


class ShadowedName(Rule):
    """
    ## What it does
    Flags a parameter of a block or net that is named like an op or a block.

    The blocks are those the file can see: its own, imported ones, and the standard library's
    after `import std`.

    ## Why is this bad?
    Inside the body the parameter wins: `-> bn` no longer means batch norm but the parameter's
    value. When the value is a string naming another op (`bn = "identity"`) the net silently
    changes; otherwise the error appears far from its cause. Renaming the parameter keeps every
    name meaning one thing.

    ## Example
    ```arch
    block unit(c, bn = "identity") {
        conv(c, k = 3) -> bn -> relu
    }

    net example {
        input image [3, 32, 32]
        stem = unit(16)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    block unit(c, norm = "identity") {
        conv(c, k = 3) -> norm -> relu
    }

    net example {
        input image [3, 32, 32]
        stem = unit(16)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AS303"
    name = "shadowed-name"
    severity = Severity.WARNING

    def check_program(self, ctx: LintContext, options: RuleOptions) -> list[Finding]:
        root = ctx.program.root
        blocks = ctx.program.blocks
        out = []
        owners = [("block", b.name, b.params) for b in root.blocks] + [("net", n.name, n.params) for n in root.nets]
        for kind, owner, params in owners:
            for p in params:
                if p.name in OPS:
                    what = f"the op '{p.name}'"
                elif p.name in blocks:
                    b = blocks[p.name]
                    what = f"the block '{p.name}' ({b.name_span})"
                else:
                    continue
                out.append(
                    self.finding(
                        f"parameter '{p.name}' of {kind} '{owner}' shadows {what}",
                        p.span,
                        help=f"rename the parameter; inside '{owner}', '{p.name}' means the parameter, "
                        "not the op or block",
                    )
                )
        return out
