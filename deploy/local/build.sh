#!/usr/bin/env bash
# Builds the local control plane's binaries from Go modules (no prebuilt download)
# into a cache outside the repository, keyed by version. A warm cache builds nothing.
#
#   deploy/local/build.sh            build what is missing, print the bin directory
#   deploy/local/build.sh --print    print the bin directory only
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache="${RUDDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rudder}"
bin="$cache/bin"
mkdir -p "$bin"

if [[ "${1:-}" == "--print" ]]; then
  echo "$bin"
  exit 0
fi

export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

log() { echo "[build] $*" >&2; }

# build NAME VERSION MODULE_DIR PACKAGE LDFLAGS
build() {
  local name="$1" version="$2" dir="$3" pkg="$4" ldflags="$5"
  local out="$bin/$name-$version"
  if [[ -x "$out" ]]; then
    return 0
  fi
  log "building $name $version (cold builds of Kubernetes take a while on 2 cores)"
  local start=$SECONDS
  (cd "$here/go/$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  log "built $name in $((SECONDS - start))s"
}

kv="$KUBE_VERSION"
kminor="${kv#v*.}"; kminor="${kminor%%.*}"
kubeflags=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kubeflags+=" -X $p.gitVersion=$kv -X $p.gitMajor=1 -X $p.gitMinor=$kminor"
  kubeflags+=" -X $p.gitTreeState=clean -X $p.gitCommit=$KUBE_COMMIT -X $p.buildDate=$BUILD_DATE"
done

build etcd "$ETCD_VERSION" etcd rudder.dev/local/etcd \
  "-X go.etcd.io/etcd/api/v3/version.GitSHA=module"
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  build "$c" "$kv" kubernetes "k8s.io/kubernetes/cmd/$c" "$kubeflags"
done
for c in kwok kwokctl; do
  build "$c" "$KWOK_VERSION" kwok "sigs.k8s.io/kwok/cmd/$c" \
    "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${kv#v}"
done

echo "$bin"
