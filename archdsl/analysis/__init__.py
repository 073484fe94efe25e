"""Analysis over the IR without torch: per-stage and per-block summaries of shapes, params, MACs."""

from archdsl.analysis.summary import Row, summarize

__all__ = ["Row", "summarize"]
