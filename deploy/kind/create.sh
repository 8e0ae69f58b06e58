#!/usr/bin/env bash
# Creates the kind cluster and runs the test suite against it. Needs Docker and kind;
# the local control plane (deploy/local/) is the default where there is no Docker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kind create cluster --config "$here/kind-config.yaml" --kubeconfig "$here/kubeconfig"
echo "Run the tests against it with: KUBECONFIG=$here/kubeconfig make test"
