"""The bad-input corpus: tenant inputs that must be refused cleanly.

Every corpus case is one collected test item marked ``@pytest.mark.corpus("<class>")``; a
parametrised test contributes one case per parameter. The session summary prints how many cases
of each class ran and passed (``tests/conftest.py``), so the corpus size is visible in every run.
"""

from __future__ import annotations

CLASSES = (
    "sandbox",    # template sandbox escapes and resource exhaustion while rendering
    "archives",   # chart archives and directories: traversal, links, bombs
    "values",     # values files, valuesFrom and --set
    "names",      # object names and namespaces
    "history",    # stored ReleaseHistory objects and their Secrets
    "secrets",    # secret values leaking into status, events, logs, CLI output
    "promql",     # metric queries and metric providers
    "models",     # CRD fields parsed into models
    "cli",        # command-line arguments and files
)
