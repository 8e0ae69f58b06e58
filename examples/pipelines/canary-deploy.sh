#!/usr/bin/env bash
# Deploy through a canary from a pipeline: apply a CanaryRelease, wait for the outcome, fail on rollback.
#
#   canary-deploy.sh CANARY_MANIFEST
#
# Environment:
#   CANARY_TIMEOUT     how long to wait for the outcome (default 15m)
#   ABORT_ON_TIMEOUT   "true" (default): a canary still running at the timeout is aborted (rolled back), so no
#                      half-shifted traffic outlives the pipeline; "false" leaves it running
#   REPORT_DIR         where the HTML report goes when the canary did not promote (default: .)
#   KUBECTL            the kubectl to use (default: kubectl); `kubectl canary` needs kubectl-canary on PATH
#
# Exit status: 0 promoted; 1 rolled back, failed, or timed out; 3 paused waiting for a decision (someone must
# run `kubectl canary promote|resume|abort NAME`; the pipeline can map 3 to "needs approval"); 4 an error.
# `kubectl canary wait` only returns once the outcome is final, so a 0 here means the Release really runs the
# canary's values (its new revision is Ready).
set -euo pipefail

manifest="${1:?usage: canary-deploy.sh CANARY_MANIFEST}"
timeout="${CANARY_TIMEOUT:-15m}"
report_dir="${REPORT_DIR:-.}"
kubectl="${KUBECTL:-kubectl}"

# One CanaryRelease per rollout: a finished one never runs again, so give it a unique name per commit
# (e.g. web-${CI_COMMIT_SHORT_SHA}) in the manifest.
read -r name namespace < <("$kubectl" apply -f "$manifest" -o jsonpath='{.metadata.name} {.metadata.namespace}{"\n"}')
namespace="${namespace:-default}"
echo "canary: applied CanaryRelease $namespace/$name; waiting up to $timeout for its outcome"

set +e
"$kubectl" canary wait "$name" -n "$namespace" --timeout "$timeout"
outcome=$?
set -e

report() {
  mkdir -p "$report_dir"
  "$kubectl" canary report "$name" -n "$namespace" -o "$report_dir/$name-report.html" || true
}

case "$outcome" in
  0)
    echo "canary: $name promoted"
    exit 0
    ;;
  1)
    echo "canary: $name rolled back or failed; why:" >&2
    "$kubectl" canary status "$name" -n "$namespace" >&2 || true
    report
    exit 1
    ;;
  2)
    echo "canary: $name has no outcome after $timeout" >&2
    if [[ "${ABORT_ON_TIMEOUT:-true}" == "true" ]]; then
      "$kubectl" canary abort "$name" -n "$namespace" >&2 || true
    fi
    report
    exit 1
    ;;
  3)
    echo "canary: $name is paused and needs a decision: kubectl canary promote|resume|abort $name -n $namespace" >&2
    "$kubectl" canary status "$name" -n "$namespace" >&2 || true
    exit 3
    ;;
  *)
    echo "canary: could not follow $name (exit $outcome)" >&2
    exit "$outcome"
    ;;
esac
