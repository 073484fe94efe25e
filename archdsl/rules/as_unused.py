"""AS301 unused-block and AS302 unused-parameter: definitions nothing refers to."""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.rules.astutil import referenced_names, string_literals
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext
from archdsl.syntax import ast


class UnusedBlock(Rule):
    """
    ## What it does
    Flags a block that no net of the file uses.

    Uses through other blocks count, and so does a string naming the block in a net or in a search
    space of the file (`stem = choice("stem_a", "stem_b")`). A file without nets is a library, and
    its blocks are not checked.

    ## Why is this bad?
    A block nobody instantiates is dead text that readers still have to read and keep in sync;
    often it is the block the net was meant to use, and the net calls an older one instead.

    ## Example
    ```arch
    import std

    # The old stage block, replaced by `stage_v2` but left behind.
    block stage_v1(c) {
        conv_bn_act(c) * 2
    }

    block stage_v2(c) {
        conv_bn_act(c) * 3
    }

    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        stage1 = stage_v2(16)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    import std

    block stage_v2(c) {
        conv_bn_act(c) * 3
    }

    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        stage1 = stage_v2(16)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AS301"
    name = "unused-block"
    severity = Severity.WARNING

    def check_program(self, ctx: LintContext, options: RuleOptions) -> list[Finding]:
        root = ctx.program.root
        if not root.nets:
            return []
        blocks = ctx.program.blocks
        used: set[str] = set()
        todo: list[object] = [*root.nets, *getattr(root, "spaces", ())]
        while todo:
            cur = todo.pop()
            for name in referenced_names(cur) | string_literals(cur):
                if name in blocks and name not in used:
                    used.add(name)
                    todo.append(blocks[name])
        out = []
        for b in root.blocks:
            if b.name not in used:
                out.append(
                    self.finding(
                        f"block '{b.name}' is never used",
                        b.name_span,
                        help="delete it, or move it to a library file that specs import",
                    )
                )
        return out


def _net_family(ctx: LintContext, ndef: ast.NetDef) -> list[ast.NetDef]:
    """The net, the nets it extends, and every net that extends it (their bodies see its params)."""
    family = ctx.net_chain(ndef.name)
    seen = {id(n) for n in family}
    todo = [n.name for n in family]
    while todo:
        for child in ctx.extended_by(todo.pop()):
            if id(child) not in seen:
                seen.add(id(child))
                family.append(child)
                todo.append(child.name)
    return family


def _unused_params(params: tuple[ast.Param, ...], used: set[str]) -> list[ast.Param]:
    return [p for p in params if p.name not in used]


class UnusedParameter(Rule):
    """
    ## What it does
    Flags a parameter of a block or net that nothing refers to.

    Uses are references in the body, in the defaults of the other parameters, and, for a net, in
    the nets that extend it or that it extends.

    ## Why is this bad?
    A caller who passes `groups = 4` to a block that ignores `groups` believes the network has
    grouped convolutions; it has not, and nothing fails. Unused net parameters are worse: a
    variant like `net small extends big(width = 0.5)` silently changes nothing.

    ## Example
    ```arch
    block unit(c, groups = 1) {
        conv(c, k = 3) -> bn -> relu
    }

    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        stage1 = unit(16, groups = 4)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    block unit(c, groups = 1) {
        conv(c, k = 3, groups = groups) -> bn -> relu
    }

    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        stage1 = unit(16, groups = 4)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AS302"
    name = "unused-parameter"
    severity = Severity.WARNING

    def check_program(self, ctx: LintContext, options: RuleOptions) -> list[Finding]:
        root = ctx.program.root
        out = []
        for b in root.blocks:
            used = referenced_names(b.body) | referenced_names([p.default for p in b.params if p.default])
            for p in _unused_params(b.params, used):
                out.append(
                    self.finding(
                        f"parameter '{p.name}' of block '{b.name}' is never used",
                        p.span,
                        help="use it in the block's body, or remove it (and the arguments that set it)",
                    )
                )
        by_family: dict[str, set[str]] = {}  # every net of a family sees the same uses: compute them once
        for n in root.nets:
            key = ctx.family_key(n.name)
            used = by_family.get(key)
            if used is None:
                used = by_family[key] = set()
                for f in _net_family(ctx, n):
                    used |= referenced_names(f.body) | referenced_names([p.default for p in f.params if p.default])
                    if f.extends is not None:
                        used |= referenced_names(f.extends.args)
            for p in _unused_params(n.params, used):
                out.append(
                    self.finding(
                        f"parameter '{p.name}' of net '{n.name}' is never used",
                        p.span,
                        help="use it in the net's body, or remove it",
                    )
                )
        return out
