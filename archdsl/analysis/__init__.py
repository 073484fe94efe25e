"""Analysis over the IR without torch.

- :mod:`.summary`: per-stage and per-block summaries of shapes, params, MACs;
- :mod:`.latency`: per-op cost items and a roofline latency prediction on a :class:`.machine.Machine`
  (:mod:`.machine`; the Cortex-A72 constants in :mod:`.a72`; latency-model files read by
  :mod:`.machine_file`), used by the ``a72``/``model`` bench targets.
"""

from archdsl.analysis.summary import Row, summarize

__all__ = ["Row", "summarize"]
