"""The HTTP API. Importing it registers the feature packages' per-case write hooks
(``api.core.services.CASE_WRITES``) in every process that uses it: web workers, timer workers, CLI."""
from .stats import summary  # noqa: F401  (case_facts, kept with every case change)
from .core import reach  # noqa: F401  (case_reach, kept with every case change)
