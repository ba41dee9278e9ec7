#!/usr/bin/env bash
# End to end on kind (for users with Docker; the build machines have none):
#   1. create a kind cluster (reused if it exists),
#   2. build the image from deploy/Dockerfile and load it into kind,
#   3. install the Strimzi cluster operator from its release YAML,
#   4. create the Secrets the chart references and helm-install the chart (small Kafka),
#   5. apply deploy/kind/sample-tradingday.yaml and show the TradingDay's progress.
#
# Usage: deploy/kind/e2e.sh [--delete]
# Env:   CLUSTER (quant), NAMESPACE (trading), STRIMZI_VERSION (1.2.0), RELEASE (qp),
#        UPSTOX_CLIENT_ID / UPSTOX_CLIENT_SECRET (optional: the operator's token request).
set -euo pipefail

CLUSTER="${CLUSTER:-quant}"
NAMESPACE="${NAMESPACE:-trading}"
RELEASE="${RELEASE:-qp}"
STRIMZI_VERSION="${STRIMZI_VERSION:-1.2.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART="$ROOT/charts/quant-platform"
IMAGE_REPO="$(awk '/^image:/{f=1} f&&/repository:/{print $2; exit}' "$CHART/values.yaml")"
IMAGE_TAG="$(awk '/^image:/{f=1} f&&/tag:/{gsub(/"/,"",$2); print $2; exit}' "$CHART/values.yaml")"
IMAGE="$IMAGE_REPO:$IMAGE_TAG"

log() { printf '==> %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "missing tool: $1" >&2; exit 1; }; }

for tool in docker kind kubectl helm curl; do need "$tool"; done

if [[ "${1:-}" == "--delete" ]]; then
    kind delete cluster --name "$CLUSTER"
    exit 0
fi

if ! kind get clusters | grep -qx "$CLUSTER"; then
    log "creating kind cluster $CLUSTER"
    kind create cluster --name "$CLUSTER" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

log "building $IMAGE"
docker build -f "$ROOT/deploy/Dockerfile" -t "$IMAGE" "$ROOT"
kind load docker-image "$IMAGE" --name "$CLUSTER"

kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -

log "installing Strimzi $STRIMZI_VERSION into $NAMESPACE"
strimzi_yaml="$(mktemp)"
trap 'rm -f "$strimzi_yaml"' EXIT
curl -fsSL -o "$strimzi_yaml" \
    "https://github.com/strimzi/strimzi-kafka-operator/releases/download/$STRIMZI_VERSION/strimzi-cluster-operator-$STRIMZI_VERSION.yaml"
# The release YAML binds its RBAC to the namespace "myproject"; point it at ours.
sed -i -E "s/^([[:space:]]*)namespace: .*/\1namespace: $NAMESPACE/" "$strimzi_yaml"
kubectl apply --server-side -n "$NAMESPACE" -f "$strimzi_yaml"
kubectl -n "$NAMESPACE" rollout status deployment/strimzi-cluster-operator --timeout=300s
# Use the newest Kafka version this Strimzi release ships an image for.
kafka_version="$(kubectl -n "$NAMESPACE" get deployment strimzi-cluster-operator \
    -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="STRIMZI_KAFKA_IMAGES")].value}' |
    sed -n -E 's/^[[:space:]]*([0-9]+\.[0-9]+\.[0-9]+)=.*/\1/p' | sort -V | tail -n 1)"
if [[ -z "$kafka_version" ]]; then
    echo "could not read the Kafka versions of Strimzi $STRIMZI_VERSION" >&2
    exit 1
fi
log "Strimzi $STRIMZI_VERSION: Kafka $kafka_version"

log "creating the Secrets the chart references"
secret() {
    local name="$1"
    shift
    kubectl -n "$NAMESPACE" create secret generic "$name" "$@" --dry-run=client -o yaml |
        kubectl apply -f -
}
random() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }
secret upstox-credentials \
    --from-literal=client_id="${UPSTOX_CLIENT_ID:-}" \
    --from-literal=client_secret="${UPSTOX_CLIENT_SECRET:-}"
if ! kubectl -n "$NAMESPACE" get secret upstox-token >/dev/null 2>&1; then
    secret upstox-token --from-literal=access_token=""
fi
if ! kubectl -n "$NAMESPACE" get secret quant-questdb >/dev/null 2>&1; then
    secret quant-questdb --from-literal=user=admin --from-literal=password="$(random)"
fi
if ! kubectl -n "$NAMESPACE" get secret quant-postgres >/dev/null 2>&1; then
    secret quant-postgres --from-literal=password="$(random)"
fi

log "helm upgrade --install $RELEASE"
helm upgrade --install "$RELEASE" "$CHART" \
    --namespace "$NAMESPACE" \
    --set gateway.replicas=1 \
    --set gateway.pdb.minAvailable=0 \
    --set gateway.ingress.enabled=false \
    --set networkPolicy.enabled=false \
    --set kafka.strimzi.version="$kafka_version" \
    --set kafka.strimzi.nodePool.replicas=1 \
    --set kafka.strimzi.nodePool.storage.size=2Gi \
    --set kafka.strimzi.replicationFactor=1 \
    --set kafka.strimzi.minInsyncReplicas=1 \
    --set questdb.storage.size=2Gi \
    --set postgres.storage.size=1Gi \
    --wait --timeout 10m

log "waiting for Kafka"
kubectl -n "$NAMESPACE" wait kafka/quant-kafka --for=condition=Ready --timeout=15m

log "applying the sample TradingDay"
kubectl -n "$NAMESPACE" apply -f "$ROOT/deploy/kind/sample-tradingday.yaml"
for _ in $(seq 1 30); do
    phase="$(kubectl -n "$NAMESPACE" get tradingday nse-2026-11-25 -o jsonpath='{.status.phase}')"
    if [[ -n "$phase" ]]; then
        break
    fi
    sleep 2
done
kubectl -n "$NAMESPACE" get tradingdays -o wide
kubectl -n "$NAMESPACE" get deployments,jobs,pods
log "done: kubectl -n $NAMESPACE port-forward svc/$RELEASE-quant-platform-gateway 8080:80"
