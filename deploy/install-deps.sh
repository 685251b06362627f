#!/usr/bin/env bash
# Installs what probemesh needs to build, test and run its lab on Debian 12, from nothing.
# Idempotent: installs only what is missing. Needs root for apt; without root it says what is missing.
set -euo pipefail
PKGS=(openjdk-17-jdk-headless maven iptables iproute2 unbound nsd iputils-ping dnsutils jq curl openssl procps util-linux coreutils)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "probemesh: missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "probemesh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Debian's unbound/nsd/nginx packages try to start system services; the lab runs its own instances.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
