#!/usr/bin/env bash
# System packages the servers need: a JDK 17+ (Kafka, QuestDB), Maven (fetches their jars),
# PostgreSQL (initdb/pg_ctl), Go (builds the Kubernetes control plane) and a Rust
# toolchain (builds the native feed decoder, native/quant_wire). Idempotent;
# installs with apt-get only what is missing.
set -euo pipefail
need=()
java_major() {  # major version of `java` on PATH, 0 when absent
  command -v java >/dev/null 2>&1 || { echo 0; return; }
  java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1
}
[ "$(java_major)" -ge 17 ] || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  need+=(cargo rustc)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
# quant.devinfra runs servers with setpriv (util-linux) so they die with the test run
command -v setpriv >/dev/null 2>&1 || echo "warning: setpriv not found; test servers may outlive a killed test run" >&2
command -v go >/dev/null 2>&1 || echo "warning: go not found; the operator tests need Go 1.26 to build the control plane" >&2
