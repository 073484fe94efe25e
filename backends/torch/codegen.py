"""The standalone Python file (``archdsl compile --emit python``): plain PyTorch, no archdsl import.

The file holds one ``nn.Module`` class whose ``__init__`` creates the submodules at the spec's paths
(the same ``state_dict`` keys as the compiled module) and whose ``forward`` is straight-line code,
one statement per op, made from the same lowered steps as the compiled module (:mod:`lower`).
The layers it needs are copied from :mod:`layers` by source, and its initialisation is
:func:`archdsl.weights.init_array` with a table of the spec's tensors (:mod:`.codegen_init`), so
the file computes exactly what the compiled module computes and starts from the same weights. It
imports torch and numpy (for the initialisation) only.

Variables are named after the scope that produces them (``attn``, ``feat``, ``body``, ``stage1``)
and rebound while a chain goes on, so the forward reads like hand-written code. Lines are kept
within 120 columns the way ``ruff format`` breaks them; the output passes ``ruff check``.
"""

from __future__ import annotations

import inspect
import keyword
import operator
import textwrap
from collections.abc import Callable

import torch
import torch.nn.functional as F

from archdsl import __version__
from archdsl.ir import Graph, Node

from . import codegen_init, layers
from .build import class_name, wants_channels_last
from .lower import ModuleSpec, Ref, Step, lower

LINE = 120
INDENT = "        "

FUNCTION_NAMES: dict[Callable, str] = {
    F.relu: "F.relu",
    F.relu6: "F.relu6",
    F.hardswish: "F.hardswish",
    F.hardsigmoid: "F.hardsigmoid",
    torch.sigmoid: "torch.sigmoid",
    F.silu: "F.silu",
    F.gelu: "F.gelu",
    torch.tanh: "torch.tanh",
    F.softmax: "F.softmax",
    F.max_pool2d: "F.max_pool2d",
    F.avg_pool2d: "F.avg_pool2d",
    F.interpolate: "F.interpolate",
    F.adaptive_avg_pool2d: "F.adaptive_avg_pool2d",
    torch.flatten: "torch.flatten",
    torch.cat: "torch.cat",
    layers.channel_shuffle: "channel_shuffle",
    layers.unfold_patches: "unfold_patches",
    layers.fold_patches: "fold_patches",
}
INFIX = {operator.add: "+", operator.mul: "*"}
HELPERS = (
    layers.channel_shuffle,
    layers.unfold_patches,
    layers.fold_patches,
    layers.PointwiseConv2d,
    layers.PaddedConv2d,
    layers.InplaceBatchNorm2d,
    layers.BlurPool2d,
    layers.LayerNorm2d,
    layers.DropPath,
    layers.Scale,
    layers.Attention,
)


def string_literal(text: str) -> str:
    """A Python string literal for any ``text`` (``repr``: backslashes, quotes, newlines, lone
    surrogates all escaped), with double quotes as ruff format writes them where that is free."""
    out = repr(text)
    if out.startswith("'") and '"' not in text and "'" not in text:
        out = f'"{out[1:-1]}"'
    return out


def doc_text(text: str) -> str:
    """``text`` safe inside a generated docstring or comment: it cannot end the docstring or the
    line, and it reads back as itself (a backslash, a quote and every unprintable character,
    newlines included, are written as escapes)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def literal(value) -> str:
    """Python source for a constant, in ruff-format style (double quotes)."""
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, torch.memory_format):
        return str(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"no literal for {value!r}")


def module_class(cls: type) -> str:
    if cls.__module__.startswith("torch.nn"):
        return f"nn.{cls.__name__}"
    return cls.__name__


def render_module(spec: ModuleSpec) -> str:
    parts = [literal(a) for a in spec.args] + [f"{k}={literal(v)}" for k, v in spec.kwargs.items()]
    return f"{module_class(spec.cls)}({', '.join(parts)})"


class _Tree:
    """The container hierarchy of the submodules, to decide nn.Module vs nn.ModuleList per level."""

    def __init__(self, paths: list[str]) -> None:
        self.children: dict[str, list[str]] = {}
        for path in paths:
            parts = path.split(".")
            for i in range(len(parts)):
                parent = ".".join(parts[:i])
                kids = self.children.setdefault(parent, [])
                if parts[i] not in kids:
                    kids.append(parts[i])

    def is_list(self, path: str) -> bool:
        kids = self.children.get(path, [])
        return bool(path) and sorted(kids, key=lambda k: (len(k), k)) == [str(i) for i in range(len(kids))]

    def access(self, path: str) -> str:
        expr = "self"
        parts = path.split(".")
        for i, seg in enumerate(parts):
            parent = ".".join(parts[:i])
            if self.is_list(parent):
                expr = f"{expr}[{seg}]"
            elif seg.isidentifier() and not keyword.iskeyword(seg):
                expr = f"{expr}.{seg}"
            else:
                expr = f"getattr({expr}, {string_literal(seg)})"
        return expr


def _preferred(node_id: str) -> str:
    """A variable name for a node's value: the label of the scope that makes it."""
    parts = node_id.split(".")
    for seg in reversed(parts[:-1]):
        if not seg.isdigit():
            return _identifier(seg)
    return _identifier(parts[0])


# names the generated file defines or imports: a variable must not shadow them
_TAKEN = frozenset({"self", "torch", "nn", "F", "math", *codegen_init.NAMES} | {h.__name__ for h in HELPERS})


def _identifier(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name) or name in _TAKEN:
        return f"{name}_"
    return name


def _wrap_call(prefix: str, callee: str, args: list[str], suffix: str, indent: str) -> list[str]:
    """``prefix + callee(args) + suffix`` on one line, or broken after the bracket as ruff format does."""
    one = f"{indent}{prefix}{callee}({', '.join(args)}){suffix}"
    if len(one) <= LINE:
        return [one]
    if prefix and len(f"{indent}{prefix}{callee}(") > LINE:  # the head alone is too long: parenthesise
        return [f"{indent}{prefix}(", *_wrap_call("", callee, args, "", indent + "    "), f"{indent}){suffix}"]
    inner = indent + "    "
    joined = f"{inner}{', '.join(args)}"
    if len(joined) <= LINE:
        return [f"{indent}{prefix}{callee}(", joined, f"{indent}){suffix}"]
    lines = [f"{indent}{prefix}{callee}("]
    for arg in args:
        if len(f"{inner}{arg},") > LINE and arg.startswith("[") and arg.endswith("]"):
            lines += [f"{inner}[", *[f"{inner}    {item}," for item in _split_args(arg[1:-1])], f"{inner}],"]
        else:
            lines.append(f"{inner}{arg},")
    return [*lines, f"{indent}){suffix}"]


def _wrap_infix(target: str, operands: list[str], op: str, comment: str) -> list[str]:
    """``target = a + b + c``, or one operand a line inside parentheses as ruff format does."""
    line = f"{INDENT}{target} = {f' {op} '.join(operands)}"
    if len(line + comment) <= LINE:
        return [line + comment]
    if len(line) <= LINE:
        return [line]
    inner = INDENT + "    "
    return [f"{INDENT}{target} = (", f"{inner}{operands[0]}", *[f"{inner}{op} {o}" for o in operands[1:]], f"{INDENT})"]


class _Namer:
    """Assigns variables: a value keeps the name of its scope; a dead name is free to be rebound."""

    def __init__(self, graph: Graph, lowered: list[tuple[Node, Step]]) -> None:
        self.canon: dict[str, str] = {}
        for node, step in lowered:
            if step.kind == "alias":
                src = node.inputs[0]
                self.canon[node.id] = self.canon.get(src, src)
        self.last_use: dict[str, int] = {}
        for i, (node, _) in enumerate(lowered):
            for ref in node.inputs:
                self.last_use[self.resolve(ref)] = i
        self.last_use[self.resolve(graph.output)] = len(lowered)
        self.var: dict[str, str] = {}
        self.live: dict[str, str] = {}  # variable name -> the value (canonical id) it holds

    def resolve(self, ref: str) -> str:
        return self.canon.get(ref, ref)

    def name_of(self, ref: str) -> str:
        return self.var[self.resolve(ref)]

    def bind(self, value: str, preferred: str, at: int) -> str:
        for name, held in list(self.live.items()):
            if self.last_use.get(held, -1) <= at:
                del self.live[name]
        name, n = preferred, 0
        while name in self.live:
            n += 1
            name = f"{preferred}_{n}"
        self.live[name] = value
        self.var[value] = name
        return name


def _shape(node: Node) -> str:
    return "[" + ", ".join(str(d) for d in node.out.shape) + "]"


def _forward_lines(graph: Graph, lowered: list[tuple[Node, Step]], tree: _Tree, channels_last: bool) -> list[str]:
    namer = _Namer(graph, lowered)
    lines: list[str] = []
    params = []
    for gi in graph.inputs:
        name = namer.bind(gi.name, _identifier(gi.name), -1)
        params.append(f"{name}: torch.Tensor")
    lines.append(f"    def forward(self, {', '.join(params)}) -> torch.Tensor:")
    if channels_last:
        src = namer.name_of(graph.inputs[0].name)
        lines.append(f"{INDENT}{src} = {src}.contiguous(memory_format=torch.channels_last)")
    stage = None
    for i, (node, step) in enumerate(lowered):
        if step.kind == "alias":
            continue
        top = node.id.split(".")[0]
        if top != stage:
            stage = top
            lines.append(f"{INDENT}# {doc_text(top)}")
        args = [_render_arg(a, node, namer) for a in step.args]
        kwargs = [f"{k}={_render_arg(v, node, namer)}" for k, v in step.kwargs.items()]
        target = namer.bind(node.id, _preferred(node.id), i)
        comment = f"  # {_shape(node)}"
        if step.kind == "infix":
            lines.extend(_wrap_infix(target, args, INFIX[step.target], comment))
            continue
        if step.kind == "module":
            callee = tree.access(node.id)
        elif step.kind == "function":
            callee = FUNCTION_NAMES[step.target]
        else:
            callee = f"{args[0]}.{step.target}"
            args = args[1:]
        call = _wrap_call(f"{target} = ", callee, args + kwargs, "", INDENT)
        if len(call) == 1 and len(call[0] + comment) <= LINE:
            call[0] += comment
        lines.extend(call)
    lines.append(f"{INDENT}return {namer.name_of(graph.output)}")
    return lines


def _render_arg(value, node: Node, namer: _Namer) -> str:
    if isinstance(value, Ref):
        return namer.name_of(node.inputs[value.index])
    if isinstance(value, list):
        return "[" + ", ".join(_render_arg(v, node, namer) for v in value) + "]"
    return literal(value)


def _init_lines(graph: Graph, lowered: list[tuple[Node, Step]], tree: _Tree, channels_last: bool) -> list[str]:
    lines = [
        "    def __init__(self, seed: int | None = 0) -> None:",
        f"{INDENT}super().__init__()",
    ]
    made: set[str] = set()
    for node, step in lowered:
        if step.kind != "module":
            continue
        parts = node.id.split(".")
        for i in range(1, len(parts)):
            path = ".".join(parts[:i])
            if path in made:
                continue
            made.add(path)
            if tree.is_list(path):
                n = len(tree.children[path])
                value = f"nn.ModuleList([nn.Module() for _ in range({n})])"
                made.update(f"{path}.{i}" for i in range(n))
            else:
                value = "nn.Module()"
            lines.extend(_assign(tree, path, value))
        lines.extend(_assign(tree, node.id, render_module(step.target)))
    lines.append(f"{INDENT}if seed is not None:")
    lines.append(f"{INDENT}    init_weights(self, seed)")
    if channels_last:
        lines.append(f"{INDENT}self.to(memory_format=torch.channels_last)")
    return lines


def _assign(tree: _Tree, path: str, value: str) -> list[str]:
    parent, _, leaf = path.rpartition(".")
    if tree.is_list(parent) or (leaf.isidentifier() and not keyword.iskeyword(leaf)):
        target = tree.access(path)
        line = f"{INDENT}{target} = {value}"
        if len(line) <= LINE:
            return [line]
        head, _, rest = value.partition("(")
        return _wrap_call(f"{target} = ", head, _split_args(rest[:-1]), "", INDENT)
    owner = tree.access(parent) if parent else "self"
    return [f"{INDENT}{owner}.add_module({string_literal(leaf)}, {value})"]


def _split_args(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch in "([{"
        depth -= ch in ")]}"
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _helper_sources(lowered: list[tuple[Node, Step]]) -> list[str]:
    used: set = set()
    for _, step in lowered:
        if step.kind == "module":
            used.add(step.target.cls)
        elif step.kind == "function":
            used.add(step.target)
    return [inspect.getsource(h).rstrip() for h in HELPERS if h in used]


def _docstring(graph: Graph, cls: str, deploy: bool) -> list[str]:
    """The module docstring. Text from the spec (its path, string parameters) goes through
    :func:`doc_text`, so no backslash, quote or newline in it can break the module."""
    gi = graph.inputs[0]
    params = doc_text(", ".join(f"{k} = {v}" for k, v in graph.params.items()) or "none")
    out = graph.output_type
    form = " Deploy form: batch norms folded, parallel branches merged." if deploy else ""
    shape_in = ", ".join(str(d) for d in gi.type.shape)
    shape_out = ", ".join(str(d) for d in out.shape)
    name = doc_text(graph.name)
    head = [
        *textwrap.wrap(f"Net parameters: {params}.", LINE - 4, break_long_words=False, break_on_hyphens=False),
        f"Input {doc_text(gi.name)} [B, {shape_in}] -> output [B, {shape_out}].",
        f"{graph.total_params:,} parameters, {graph.total_macs:,} MACs.{form}",
    ]
    return [
        f'"""{name}: generated by archdsl {__version__} from the spec below. Plain PyTorch; do not edit.',
        "",
        f"    {doc_text(str(graph.file))}",
        "",
        *head,
        f"Source hash: {doc_text(graph.source_hash or 'n/a')}.",
        "",
        "Needs torch, and numpy for the initialisation. Usage::",
        "",
        f"    model = {cls}()  # initialised like archdsl.build(..., seed=0)",
        f'    model.load_state_dict(torch.load("{name}.pt", weights_only=True))',
        '"""',
    ]


def standalone_class(graph: Graph) -> str:
    """The class name of the standalone module: ``attendnext`` -> ``Attendnext``; a net whose name
    would shadow an import or a helper of the file (``F``, ``attention``) gets ``Net`` appended."""
    cls = class_name(graph)
    return f"{cls}Net" if cls in _TAKEN else cls


def generate(graph: Graph, deploy: bool = False, channels_last: bool | None = None) -> str:
    """The source text of the standalone module for ``graph`` (already deploy-transformed if wanted)."""
    if channels_last is None:
        channels_last = wants_channels_last(graph)
    lowered = lower(graph)
    tree = _Tree([node.id for node, step in lowered if step.kind == "module"])
    cls = standalone_class(graph)
    out = _docstring(graph, cls, deploy)
    helpers = _helper_sources(lowered)
    imports = ["import math", ""] if any("math." in src for src in helpers) else []
    out += ["", "from __future__ import annotations", ""]
    out += [*imports, "import torch", "import torch.nn.functional as F", "from torch import nn", ""]
    for src in helpers:
        out += ["", src, ""]
    out += ["", *codegen_init.init_source(graph, literal, LINE), ""]
    out += ["", f"class {cls}(nn.Module):"]
    out += _init_lines(graph, lowered, tree, channels_last)
    out += [""]
    out += _forward_lines(graph, lowered, tree, channels_last)
    return _fix_unused_imports("\n".join(out) + "\n")


def _fix_unused_imports(src: str) -> str:
    body = src.split("from torch import nn\n", 1)[1]
    if "F." not in body:
        src = src.replace("import torch.nn.functional as F\n", "")
    return src


__all__ = ["generate", "standalone_class"]
