"""Search spaces: ``space NAME extends NET { PARAM = DOMAIN ... }`` definitions, checked, sampled
and resolved point by point (docs/language.md, "Search spaces"; issue 18's ``archdsl explore``
builds on this package).

- :mod:`archdsl.space.model`: the domains (:class:`Choice`, :class:`IntRange`, :class:`FloatRange`,
  :class:`Fixed`) and :class:`Space` (default point, seeded sampling);
- :mod:`archdsl.space.build`: a space definition of the AST checked into a :class:`Space` (E3xx);
- :mod:`archdsl.space.loader`: :func:`load_space` → :class:`LoadedSpace` whose ``resolve(point)``
  gives the net's IR, and what ``archdsl check`` resolves of a space;
- :mod:`archdsl.space.variant`: a point written back as a spec (``net X extends NET(values)``).

Never imports torch or onnx (the check path).
"""

from archdsl.space.build import build_space
from archdsl.space.loader import (
    LoadedSpace,
    check_points,
    check_space,
    format_point,
    iter_spaces,
    load_space,
    point_failure,
    select_space,
    space_names,
)
from archdsl.space.model import Choice, Domain, Fixed, FloatRange, IntRange, Space
from archdsl.space.variant import literal, variant_text

__all__ = [
    "Choice",
    "Domain",
    "Fixed",
    "FloatRange",
    "IntRange",
    "LoadedSpace",
    "Space",
    "build_space",
    "check_points",
    "check_space",
    "format_point",
    "iter_spaces",
    "literal",
    "load_space",
    "point_failure",
    "select_space",
    "space_names",
    "variant_text",
]
