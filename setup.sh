#!/usr/bin/env bash
# Install what klic needs to build and test, from Debian 12 packages.
# Installs only what is missing; needs root (or sudo) only when something is.
set -euo pipefail

PKGS=(build-essential cmake pkg-config
      libgpgme-dev libarchive-dev zlib1g-dev libsqlite3-dev libjansson-dev
      libgcrypt20-dev libcmocka-dev
      gnupg gpg-agent faketime sqlite3 util-linux
      clang libclang-rt-14-dev valgrind time python3
      libqrencode-dev libpng-dev zbar-tools
      man-db groff-base bsdextrautils
      libmicrohttpd-dev curl chromium chromium-driver python3-selenium
      libpq-dev postgresql)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
