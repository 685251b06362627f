#!/usr/bin/env bash
# Runs every test of probemesh: unit, gRPC over real TLS, probes against real servers, the store on
# H2, end-to-end meshes, and (as root) the lab scenarios in network namespaces.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bash "$ROOT/deploy/install-deps.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "probemesh: not root: tests that need network namespaces will be skipped (CI=true makes them fail)" >&2
fi
cd "$ROOT"
# Build the launcher's copy first: the lab scenarios run ./probemesh, which must not rebuild the
# jars under the test JVMs that Maven is running.
"$ROOT/probemesh" --version
exec mvn -B -ntp -Dstyle.color=never verify "$@"
