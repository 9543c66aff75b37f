#!/usr/bin/env bash
# Install the programs the end-to-end tests drive as real peers, from Debian's packages:
# wrk (load smoke), nginx (a reference HTTP server for the client tests), curl, chromium
# (headless, for the browser test of the chat page).
# Runs only where apt-get is usable (root on Debian/Ubuntu); elsewhere it says what is
# missing, and the tests that need a missing program skip with that name.
set -uo pipefail
declare -A package=([wrk]=wrk [nginx]=nginx-light [curl]=curl [chromium]=chromium)
missing=()
for cmd in "${!package[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${package[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test tools not installed (need root and apt-get): ${missing[*]}; their tests skip" >&2
  exit 0
fi
echo "installing test tools: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || echo "could not install ${missing[*]}; their tests skip" >&2
fi
# A freshly installed nginx package may have started its own server on port 80; the tests
# start theirs on loopback ports, so stop the one this script brought in.
if [[ " ${missing[*]} " == *" nginx-light "* ]] && [ -f /run/nginx.pid ]; then
  kill "$(cat /run/nginx.pid)" 2>/dev/null
fi
exit 0
