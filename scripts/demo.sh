#!/usr/bin/env bash
# The README's first command: the local cluster, the CRDs and policies, the controllers,
# and a demo canary. Set RUDDER_DEMO_KEEP=1 to leave the cluster up afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/bootstrap.sh
deploy/local/cluster.sh up
export KUBECONFIG="$(deploy/local/cluster.sh kubeconfig)"
kubectl="$(deploy/local/build.sh --print)/links/kubectl"

"$kubectl" apply --server-side -f crds/ >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s -f crds/ >/dev/null
if compgen -G "policies/*.yaml" >/dev/null; then
  "$kubectl" apply --server-side -f policies/ >/dev/null
fi
"$kubectl" get crds -l '!x' -o name | grep rudder.dev

echo
echo "The cluster is up with Rudder's CRDs installed:"
echo "  export KUBECONFIG=$KUBECONFIG"
echo "  $kubectl get releases,canaryreleases -A"
