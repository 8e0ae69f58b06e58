"""The ``kubectl-canary`` command line (a kubectl plugin: ``kubectl canary ...``)."""
