"""Syntax layer: the Lark grammar, the parser and the AST with source spans."""

from archdsl.syntax.parser import parse_text

__all__ = ["parse_text"]
