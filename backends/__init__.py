"""Built-in archdsl backends, installed as the package ``archdsl_backends``.

Each subpackage publishes a ``BACKEND`` object through the entry-point group ``archdsl.backends``
(see ``archdsl/backend.py`` and docs/backends.md). Nothing here is imported by the check/lint path.
"""
