#!/usr/bin/env bash
# Deploy through a canary from a pipeline: apply a CanaryRelease, wait for the outcome, fail on rollback.
#
#   canary-deploy.sh CANARY_MANIFEST
#
# Environment:
#   CANARY_TIMEOUT     how long to wait for the outcome (default 15m)
#   ABORT_ON_TIMEOUT   "true" (default): a canary still running at the timeout is aborted and the script waits
#                      for the rollback to finish, so no half-shifted traffic outlives the pipeline (and the next
#                      pipeline's CanaryRelease is not refused because this one is still active); "false" leaves
#                      it running
#   ROLLBACK_TIMEOUT   how long to wait for that rollback (default 5m)
#   REPORT_DIR         where the HTML report goes when the canary did not promote (default: .)
#   KUBECTL            the kubectl to use (default: kubectl); `kubectl canary` needs kubectl-canary on PATH
#
# Exit status: 0 promoted; 1 rolled back, failed, or timed out; 3 paused waiting for a decision (someone must
# run `kubectl canary promote|resume|abort NAME`; the pipeline can map 3 to "needs approval"); 4 an error.
# `kubectl canary wait` only returns once the outcome is final, so a 0 here means the Release really runs the
# canary's values (its new revision is Ready).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: canary-deploy.sh CANARY_MANIFEST" >&2
  exit 4
fi
manifest="$1"
timeout="${CANARY_TIMEOUT:-15m}"
report_dir="${REPORT_DIR:-.}"
kubectl="${KUBECTL:-kubectl}"

# One CanaryRelease per rollout: a finished one never runs again, so give it a unique name per commit
# (e.g. web-${CI_COMMIT_SHORT_SHA}) in the manifest.
# A manifest that cannot be applied is an error (4), not a failed canary (1).
if ! applied=$("$kubectl" apply -f "$manifest" -o jsonpath='{.metadata.name} {.metadata.namespace}{"\n"}'); then
  echo "canary: could not apply $manifest" >&2
  exit 4
fi
read -r name namespace <<<"$applied"
namespace="${namespace:-default}"
echo "canary: applied CanaryRelease $namespace/$name; waiting up to $timeout for its outcome"

# follow TIMEOUT: `kubectl canary wait`, its exit code in $outcome (set -e must not end the script on 1, 2 or 3).
follow() {
  set +e
  "$kubectl" canary wait "$name" -n "$namespace" --timeout "$1"
  outcome=$?
  set -e
}

report() {
  mkdir -p "$report_dir"
  "$kubectl" canary report "$name" -n "$namespace" -o "$report_dir/$name-report.html" || true
}

follow "$timeout"
aborted=""
if [[ "$outcome" == 2 && "${ABORT_ON_TIMEOUT:-true}" == "true" ]]; then
  echo "canary: $name has no outcome after $timeout; aborting it" >&2
  "$kubectl" canary abort "$name" -n "$namespace" --wait >&2 || true
  # Follow the rollback to its end. (A canary that was promoted just before the abort stays promoted.)
  aborted=" (aborted after $timeout without an outcome)"
  follow "${ROLLBACK_TIMEOUT:-5m}"
fi

case "$outcome" in
  0)
    echo "canary: $name promoted"
    exit 0
    ;;
  1)
    echo "canary: $name rolled back or failed$aborted; why:" >&2
    "$kubectl" canary status "$name" -n "$namespace" >&2 || true
    report
    exit 1
    ;;
  2)
    if [[ -n "$aborted" ]]; then
      echo "canary: $name has not finished rolling back: see kubectl canary status $name -n $namespace" >&2
    else
      echo "canary: $name has no outcome after $timeout; left running (ABORT_ON_TIMEOUT=false)" >&2
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
