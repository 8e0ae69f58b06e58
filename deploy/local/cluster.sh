#!/usr/bin/env bash
# The local control plane: real etcd, kube-apiserver, kube-controller-manager and
# kube-scheduler run as plain processes by kwokctl's binary runtime, with KWOK
# providing fake nodes whose pods become Ready. No container engine needed.
#
#   deploy/local/cluster.sh up          build what is missing, start (idempotent), print usage
#   deploy/local/cluster.sh down        stop and delete the cluster; no process is left behind
#   deploy/local/cluster.sh status      exit 0 when the API server answers /readyz
#   deploy/local/cluster.sh kubeconfig  print the kubeconfig path
#
# Environment: RUDDER_CACHE (binary cache, default ~/.cache/rudder), RUDDER_CLUSTER (name,
# default "rudder"), RUDDER_NODES (fake node count, default 3), RUDDER_NODE_PODS (pods each node
# admits, default 2000), RUDDER_SERVICE_CIDR (Service IP range, default 10.96.0.0/16).
#
# Room for the scale benchmark (bench/scale): 3 x 2000 pods and a /16 of Service IPs (65k), where
# kwokctl's defaults give 3 x 110 pods and a /24 that is full at about 250 Services. The range and
# the pod capacity are fixed when a cluster is created: an existing cluster keeps its old ones until
# `down` and `up`. Several clusters (RUDDER_CLUSTER=...) may run at once: kwokctl picks free ports.
#
# kube-controller-manager's own client is limited to 20 requests/s (burst 30) by default: creating 2,000
# Deployments (a ReplicaSet, a Pod and status updates each) or tearing down a namespace of them (the garbage
# collector deletes every dependent one by one) would then take minutes of the control plane's own throttling,
# which the benchmark would blame on the controller under test. RUDDER_KCM_QPS/RUDDER_KCM_BURST (default
# 300/600) lift it, with 10 workers per workload controller. The API server keeps its defaults (400 + 200
# requests in flight, shared by API Priority and Fairness); the scheduler's 50/100 binds 2,000 pods in ~40 s.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
cache="${RUDDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rudder}"
bin="$cache/bin"
name="${RUDDER_CLUSTER:-rudder}"
nodes="${RUDDER_NODES:-3}"
node_pods="${RUDDER_NODE_PODS:-2000}"
service_cidr="${RUDDER_SERVICE_CIDR:-10.96.0.0/16}"
kcm_qps="${RUDDER_KCM_QPS:-300}"
kcm_burst="${RUDDER_KCM_BURST:-600}"
state="$cache/clusters"
kubeconfig="$state/$name.kubeconfig"

# kwokctl keeps its cluster state under KWOK_WORKDIR; every binary is a local path so
# nothing is downloaded, and KUBE_VERSION tells it which flags the binaries accept.
export KWOK_WORKDIR="$state/kwok"
export KWOK_KUBE_VERSION="$KUBE_VERSION"
export KWOK_KUBECTL_BINARY="$bin/kubectl-$KUBE_VERSION"
export KWOK_RUNTIME=binary

kwokctl() { "$bin/kwokctl-$KWOK_VERSION" "$@"; }
kubectl() { "$bin/kubectl-$KUBE_VERSION" --kubeconfig "$kubeconfig" "$@"; }
log() { echo "[cluster] $*" >&2; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll a condition with a deadline.
wait_for() {
  local what="$1" deadline=$((SECONDS + $2)); shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

ready() { [[ -f "$kubeconfig" ]] && kubectl get --raw /readyz; }

nodes_ready() {
  local n
  n=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)
  ((n >= nodes))
}

up() {
  local start=$SECONDS
  "$here/build.sh" >/dev/null
  if [[ -x "$bin/kwokctl-$KWOK_VERSION" ]] && kwokctl get clusters 2>/dev/null | grep -qx "$name"; then
    if ! ready; then
      log "cluster $name exists but is not answering; restarting it"
      kwokctl start cluster --name "$name" >&2
    fi
  else
    log "creating cluster $name"
    # Authorization and admission stay on: RBAC and impersonation tests need them.
    kwokctl create cluster --name "$name" --runtime binary \
      --kube-authorization=true --kube-admission=true \
      --etcd-binary "$bin/etcd-$ETCD_VERSION" \
      --kube-apiserver-binary "$bin/kube-apiserver-$KUBE_VERSION" \
      --kube-controller-manager-binary "$bin/kube-controller-manager-$KUBE_VERSION" \
      --kube-scheduler-binary "$bin/kube-scheduler-$KUBE_VERSION" \
      --kwok-controller-binary "$bin/kwok-$KWOK_VERSION" \
      --extra-args "kube-apiserver=service-cluster-ip-range=$service_cidr" \
      --extra-args "kube-controller-manager=service-cluster-ip-range=$service_cidr" \
      --extra-args "kube-controller-manager=kube-api-qps=$kcm_qps" \
      --extra-args "kube-controller-manager=kube-api-burst=$kcm_burst" \
      --extra-args "kube-controller-manager=concurrent-deployment-syncs=10" \
      --extra-args "kube-controller-manager=concurrent-replicaset-syncs=10" \
      --extra-args "kube-controller-manager=concurrent-service-endpoint-syncs=10" \
      --wait 2m >&2
  fi
  mkdir -p "$state"
  kwokctl get kubeconfig --name "$name" >"$kubeconfig.tmp"
  mv "$kubeconfig.tmp" "$kubeconfig"
  wait_for "the API server" 120 ready
  if ! nodes_ready; then
    # Each fake node admits node_pods pods (kwok's pod IPs come from its own pool, not the node's /24).
    kwokctl scale node --name "$name" --replicas "$nodes" --param ".allocatable.pods=$node_pods" >&2
  fi
  wait_for "$nodes Ready nodes" 120 nodes_ready
  wait_for "the default ServiceAccount" 120 kubectl get serviceaccount default -n default
  log "cluster $name is up in $((SECONDS - start))s"
  cat <<EOF
Local cluster "$name" is ready ($KUBE_VERSION, etcd $ETCD_VERSION, KWOK $KWOK_VERSION).
  export KUBECONFIG=$kubeconfig
  export PATH=$bin/links:\$PATH    # kubectl $KUBE_VERSION
  kubectl get nodes
Stop it with: deploy/local/cluster.sh down
EOF
}

down() {
  if [[ -x "$bin/kwokctl-$KWOK_VERSION" ]] && kwokctl get clusters 2>/dev/null | grep -qx "$name"; then
    kwokctl delete cluster --name "$name" >&2
  fi
  rm -f "$kubeconfig"
  # kwokctl stops its processes by pid file; make sure nothing of this cluster survives.
  local pattern="$KWOK_WORKDIR/clusters/$name/"
  if pgrep -f "$pattern" >/dev/null; then
    pkill -TERM -f "$pattern" || true
    wait_for "cluster processes to exit" 30 bash -c "! pgrep -f '$pattern'" || pkill -KILL -f "$pattern" || true
  fi
  log "cluster $name is down"
}

links() {
  # Stable names for the versioned binaries, so users and tests can put them on PATH.
  mkdir -p "$bin/links"
  ln -sf "../kubectl-$KUBE_VERSION" "$bin/links/kubectl"
  ln -sf "../kwokctl-$KWOK_VERSION" "$bin/links/kwokctl"
}

case "${1:-}" in
  up) up; links ;;
  down) down ;;
  status) ready >/dev/null && echo "cluster $name is up: KUBECONFIG=$kubeconfig" ;;
  kubeconfig) echo "$kubeconfig" ;;
  *) echo "usage: $0 up|down|status|kubeconfig" >&2; exit 2 ;;
esac
