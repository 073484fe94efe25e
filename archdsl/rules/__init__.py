"""archdsl lint: rules over the IR (and the spec's AST), their registry, configuration and reporters.

``archdsl lint SPEC...`` compiles each spec, runs the selected rules and prints the findings
(text, JSON, SARIF 2.1.0 or GitHub Actions annotations). ``archdsl rules`` lists the rules and
``archdsl rule CODE`` prints one rule's documentation. See docs/lint.md.

Writing a rule (built-in or third-party)::

    from archdsl.diagnostics import Severity
    from archdsl.rules import Rule, RuleOptions

    class Options(RuleOptions):
        max_kernel: int = 7                      # set as max-kernel in [tool.archdsl.lint.rules.XY101]

    class HugeKernel(Rule):
        '''
        ## What it does
        Flags convolutions with kernels larger than `max-kernel`.

        ## Why is this bad?
        ...

        ## Example
        ```arch
        net example {
            input image [3, 32, 32]
            stem = conv(8, k = 9)
        }
        ```

        ## Use instead
        ```arch
        net example {
            input image [3, 32, 32]
            stem = conv(8, k = 3)
        }
        ```

        ## Options
        - `max-kernel` (integer, default 7): the largest kernel allowed.
        '''

        code = "XY101"                           # two capital letters (the family) + three digits
        name = "huge-kernel"                     # kebab-case, unique
        severity = Severity.WARNING              # default; users override it per code
        options = Options

        def check_graph(self, ctx, graph, options):
            for node in graph.nodes:
                if node.op == "conv" and node.args.k > options.max_kernel:
                    span, notes = ctx.locate(graph, node.id)   # a span in the linted file
                    yield self.finding(f"{node.args.k}×{node.args.k} kernel", span, notes=notes,
                                       net=graph.name, path=node.id)

A third-party package publishes its rules under the entry-point group ``archdsl.rules`` (a class
or a list of classes); the family letters AD, AR, AS and AQ are reserved for the built-ins::

    [project.entry-points."archdsl.rules"]
    xy = "xy_archlint:RULES"

Layering: this package reads the IR, the AST and the analysis layer; it never imports torch,
onnx or a backend, so ``archdsl lint`` stays fast enough for pre-commit and CI.
"""

from archdsl.rules.base import Finding, Rule, RuleConfigError, RuleOptions
from archdsl.rules.context import LintContext

__all__ = ["Finding", "LintContext", "Rule", "RuleConfigError", "RuleOptions"]
