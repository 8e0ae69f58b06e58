#!/usr/bin/env bash
# The README's first command: the local cluster, the controllers, Prometheus, the traffic simulator,
# the example Release, then a good canary (promoted) and a bad one (rolled back), shown live.
# RUDDER_DEMO_KEEP=1 leaves the cluster up afterwards (stop it with deploy/local/cluster.sh down).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/bootstrap.sh
deploy/local/cluster.sh up >/dev/null
kubeconfig="$(deploy/local/cluster.sh kubeconfig)"
kubectl="$(deploy/local/build.sh --print)/kubectl-$(. deploy/local/versions.env && echo "$KUBE_VERSION")"

cleanup() {
  if [[ "${RUDDER_DEMO_KEEP:-}" != "1" ]]; then
    deploy/local/cluster.sh down >/dev/null 2>&1 || true
  else
    echo "The cluster stays up: export KUBECONFIG=$kubeconfig (deploy/local/cluster.sh down stops it)"
  fi
}
trap cleanup EXIT

export PATH="$PWD/.venv/bin:$PATH"
python scripts/demo.py --kubeconfig "$kubeconfig" --kubectl "$kubectl" "$@"
