#!/bin/sh
# The lab's sid root as a tarball: what Debian's installer and the ISO's late.sh install, made
# with mmdebstrap (Debian's own bootstrapper, with recommends on, as the installer's apt has).
# Test set-up only: the snapshot mirror's InRelease has expired, so Valid-Until is not checked.
#
# usage: build-sid-base.sh OUT.tar APT_CACHE_DIR PACKAGE...
# env: DEBIAN_MIRROR (default http://deb.debian.org/debian)
# Written to a temporary name and renamed: OUT.tar is complete or absent. Downloaded .debs
# are kept in APT_CACHE_DIR for the next build (apt checks them against the signed indexes).
set -eu
out=${1:?usage: build-sid-base.sh OUT.tar APT_CACHE_DIR PACKAGE...}
cache=${2:?usage: build-sid-base.sh OUT.tar APT_CACHE_DIR PACKAGE...}
shift 2
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache" "$(dirname "$out")"
cache=$(cd "$cache" && pwd)
tmp="$out.$$.part"
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT TERM
packages=$(printf '%s,' "$@")
# "$1" in the hooks is mmdebstrap's (the new root), expanded by the hook's shell.
# shellcheck disable=SC2016
mmdebstrap --quiet --variant=minbase \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --aptopt='APT::Install-Recommends "true"' \
  --include="${packages%,}" \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives/"' \
  --setup-hook="sync-in '$cache' /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
  --format=tar unstable "$tmp" "$mirror"
mv "$tmp" "$out"
