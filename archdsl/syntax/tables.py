"""The Lark parser, loaded from parse tables shipped with the package, never from a cache file.

Building the LALR(1) tables from ``grammars/arch.lark`` takes about 200 ms, too slow for the start-up
of ``archdsl check``. Lark's own remedy, ``cache=True``, pickles the tables into the temp folder and
unpickles whatever file it finds there under a predictable name: another local user who plants that
file runs code as whoever uses archdsl. So archdsl never passes ``cache`` to Lark. Instead the
tables are generated once by ``scripts/gen_parser_tables.py`` into ``grammars/arch_tables.json``
(package data of ``archdsl_grammars``, installed with the code and as trusted as the code): plain
JSON, loaded with :func:`json.loads` and Lark's deserialisation (``Lark._load_from_dict``), which
instantiates only Lark's own grammar classes. No pickle, and no file outside the package is read.

The file records the sha256 of the grammar, the Lark version and the parser options it was made
with. When any of them differs from what is running (an edited grammar, another Lark release), the
parser is built in memory instead, without any cache; ``tests/test_security_sources.py`` fails
while the committed tables are stale.

Next to it, ``grammars/arch_runtime.json`` holds what archdsl's own LALR driver and contextual lexer
read (:func:`runtime_json`, :mod:`archdsl.syntax.lalr`), taken from the parser these tables load
into: ``archdsl check`` parses with those and never imports Lark; the Lark parser made here is the
reference and the formatter's.

Lark numbers the LALR states differently from run to run, so :func:`tables_json` canonicalises
them (states in breadth-first order from the start state, tokens and memoised rules sorted) to
make the generated file reproducible and its staleness check a plain comparison.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from typing import Any

import lark
from lark import Lark

from archdsl.syntax.lalr import TABLES_FILE
from archdsl.syntax.lalr import TABLES_FORMAT as FORMAT

# The options of the one parser archdsl uses. Never add ``cache``: see the module docstring.
PARSER_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "propagate_positions": True,
    "maybe_placeholders": False,
}

# How the running parser was made: "tables" (the shipped tables) or "built" (from the grammar).
loaded_from: str | None = None


def grammar_sha256(grammar: str) -> str:
    return hashlib.sha256(grammar.encode("utf-8")).hexdigest()


def _key(grammar: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "grammar_sha256": grammar_sha256(grammar),
        "lark_version": lark.__version__,
        "options": PARSER_OPTIONS,
    }


def build_parser(grammar: str) -> Lark:
    """The parser built from the grammar in memory (about 200 ms); no cache is read or written."""
    return Lark(grammar, **PARSER_OPTIONS)


# ---- writing the tables ------------------------------------------------------------------------


def tables_json(grammar: str) -> str:
    """The canonical JSON text of the parse tables of ``grammar`` (what the generator writes)."""
    doc = {**_key(grammar), **_serialized(build_parser(grammar))}
    text = json.dumps(doc, sort_keys=True, indent=0, separators=(",", ":"), ensure_ascii=True) + "\n"
    # what is written must load back as the same parser: serialising the loaded one gives the same
    loaded = load_tables(text, grammar)
    if loaded is None or _serialized(loaded) != {"data": doc["data"], "memo": doc["memo"]}:
        raise AssertionError("the parse tables do not survive a JSON round trip")
    return text


def runtime_json(grammar: str) -> str:
    """The JSON text of what archdsl's own LALR driver and lexer read (``grammars/arch_runtime.json``),
    taken from the parser that the canonical tables load into, so that its states are the stored ones."""
    loaded = load_tables(tables_json(grammar), grammar)
    assert loaded is not None
    doc = {**_key(grammar), "runtime": runtime_tables(loaded)}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n"


def runtime_tables(parser: Lark) -> dict[str, Any]:
    """The tables of :mod:`archdsl.syntax.lalr` (a Lark-free LALR driver and contextual lexer) read off
    a Lark parser: its parse table with rules by number, and its contextual lexer's per-state
    lexers exactly as Lark built them (terminal order, the keywords folded into ``NAME``, the
    newline-carrying and the ignored terminals). Plain lists and dicts, JSON as they are."""
    from lark.lexer import UnlessCallback
    from lark.parsers.lalr_analysis import Shift

    frontend = parser.parser
    table = frontend.parser.parser.parse_table
    clex = frontend.lexer
    rules: list = []
    rule_ids: dict = {}
    for r in [*parser.rules, *(a for acts in table.states.values() for k, (t, a) in acts.items() if t is not Shift)]:
        if r not in rule_ids:
            rule_ids[r] = len(rules)
            rules.append(
                {
                    "origin": r.origin.name,
                    "alias": r.alias,
                    "template_source": r.options.template_source,
                    "expand1": bool(r.options.expand1),
                    "keep_all_tokens": bool(r.options.keep_all_tokens),
                    "expansion": [[s.name, s.is_term, bool(s.is_term and s.filter_out)] for s in r.expansion],
                }
            )
    if sorted(table.states) != list(range(len(table.states))):
        raise AssertionError("the LALR states are not numbered 0..n-1")
    states = [
        {sym: (arg if act is Shift else -1 - rule_ids[arg]) for sym, (act, arg) in table.states[s].items()}
        for s in range(len(table.states))
    ]
    terminals = sorted(
        parser.terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)
    )
    lexers: list = []
    lexer_ids: dict[int, int] = {}

    def lexer_id(lx) -> int:
        if id(lx) in lexer_ids:
            return lexer_ids[id(lx)]
        scanner = lx.scanner
        names = [t.name for t in scanner.terminals]
        pattern = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in scanner.terminals)
        if [m.pattern for m in scanner._mres] != [pattern] or lx.g_regex_flags or lx.use_bytes:
            raise AssertionError("a lexer that archdsl/syntax/lalr.py cannot reproduce")
        unless: dict[str, dict[str, str]] = {}
        for name, cb in lx.callback.items():
            if not isinstance(cb, UnlessCallback) or any(t.pattern.flags for t in cb.scanner.terminals):
                raise AssertionError(f"a lexer callback that archdsl/syntax/lalr.py cannot reproduce: {name}")
            words: dict[str, str] = {}
            for t in cb.scanner.terminals:
                words.setdefault(t.pattern.value, t.name)  # the first alternative that matches wins
            unless[name] = words
        lexers.append(
            {
                "terminals": names,
                "unless": unless,
                "newline": sorted(lx.newline_types),
                "ignore": sorted(lx.ignore_types),
            }
        )
        lexer_ids[id(lx)] = len(lexers) - 1
        return lexer_ids[id(lx)]

    state_lexers = [lexer_id(clex.lexers[s]) for s in range(len(states))]
    return {
        "rules": rules,
        "states": states,
        "start": table.start_states["start"],
        "end": table.end_states["start"],
        "terminals": [[t.name, t.pattern.type, t.pattern.value, t.pattern.to_regexp()] for t in terminals],
        "lexers": lexers,
        "state_lexers": state_lexers,
        "root_lexer": lexer_id(clex.root_lexer),
    }


def _serialized(parser: Lark) -> dict[str, Any]:
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data, memo_list = _canonical(data, memo)
    return json.loads(json.dumps({"data": data, "memo": memo_list}))


def _canonical(data: dict, memo: dict[int, Any]) -> tuple[dict, list]:
    """Renumber memo entries, tokens and states in an order that does not depend on the run."""
    keys = {k: json.dumps(_plain(v), sort_keys=True) for k, v in memo.items()}
    if len(set(keys.values())) != len(keys):
        raise AssertionError("two memoised grammar objects serialise alike; cannot order them")
    order = sorted(memo, key=lambda k: (memo[k]["__type__"], keys[k]))
    new_id = {old: new for new, old in enumerate(order)}
    memo_list = [_plain(memo[k]) for k in order]
    data = _refs(_plain(data), new_id)

    table = data["parser"]["parser"]
    names: dict[int, str] = {int(k): v for k, v in table["tokens"].items()}
    states: dict[int, dict[int, list]] = {
        int(s): {int(t): a for t, a in acts.items()} for s, acts in table["states"].items()
    }
    token_ids = {name: i for i, name in enumerate(sorted(set(names.values())))}
    roots = [table["start_states"][s] for s in sorted(table["start_states"])]
    roots += [table["end_states"][s] for s in sorted(table["end_states"])]
    index: dict[int, int] = {}
    queue = deque(roots)
    while queue:
        s = queue.popleft()
        if s in index:
            continue
        index[s] = len(index)
        for tok in sorted(states[s], key=lambda t: names[t]):
            action, arg = states[s][tok]
            if action == 0:  # shift (or goto): the argument is a state
                queue.append(arg)
    if len(index) != len(states):
        raise AssertionError("some LALR states are unreachable from the start state")
    by_new = sorted(states, key=lambda s: index[s])
    table["tokens"] = sorted(token_ids, key=token_ids.get)
    table["states"] = [
        sorted([token_ids[names[t]], a, index[arg] if a == 0 else arg] for t, (a, arg) in states[s].items())
        for s in by_new
    ]
    table["start_states"] = {k: index[v] for k, v in table["start_states"].items()}
    table["end_states"] = {k: index[v] for k, v in table["end_states"].items()}
    return data, memo_list


def _plain(obj: Any) -> Any:
    """Tuples as lists, dict keys as given: the shape JSON gives back."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _refs(obj: Any, new_id: dict[int, int]) -> Any:
    """Rewrite every memo reference ``{"@": n}``."""
    if isinstance(obj, dict):
        if set(obj) == {"@"}:
            return {"@": new_id[obj["@"]]}
        return {k: _refs(v, new_id) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_refs(v, new_id) for v in obj]
    return obj


# ---- loading the tables ----------------------------------------------------------------------


def _untable(data: dict, memo_list: list) -> tuple[dict, dict[int, Any]]:
    """Back from the stored form to what ``Lark._load_from_dict`` takes (int-keyed dicts)."""
    table = data["parser"]["parser"]
    tokens = table["tokens"]
    table["tokens"] = dict(enumerate(tokens))
    table["states"] = {s: {t: (a, arg) for t, a, arg in acts} for s, acts in enumerate(table["states"])}
    return data, dict(enumerate(memo_list))


def load_tables(text: str, grammar: str) -> Lark | None:
    """The parser from the stored tables ``text``, or None when they were made for another
    grammar, Lark version or set of options."""
    doc = json.loads(text)
    if {k: doc.get(k) for k in ("format", "grammar_sha256", "lark_version", "options")} != _key(grammar):
        return None
    data, memo = _untable(doc["data"], doc["memo"])
    return Lark._load_from_dict(data, memo)


def make_parser() -> Lark:
    """The parser: from the shipped tables when they fit, else built in memory (never a cache)."""
    global loaded_from
    from archdsl_grammars import grammar_text, read_text

    grammar = grammar_text()
    try:
        text = read_text(TABLES_FILE)
    except OSError:
        text = None
    if text is not None:
        try:
            parser = load_tables(text, grammar)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            parser = None  # damaged tables: build instead
        if parser is not None:
            loaded_from = "tables"
            return parser
    loaded_from = "built"
    return build_parser(grammar)
