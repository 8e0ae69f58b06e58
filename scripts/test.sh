#!/usr/bin/env bash
# The whole test suite from a clean clone: installs what is missing, then lint, types,
# layering contracts, unit tests and integration tests against a real kube-apiserver
# (the local control plane, or the cluster $KUBECONFIG names) and a real Prometheus.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check .
echo "== mypy (strict on rudder, canary)"; mypy
echo "== import-linter"; lint-imports
echo "== pytest"
set +e
pytest "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit $rc
