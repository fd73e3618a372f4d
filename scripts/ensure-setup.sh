#!/bin/sh
# Set-up for a fresh Debian/Ubuntu clone: install node modules when missing, compile when the
# sources changed, and install the system packages the mode needs with apt-get (as root or
# with passwordless sudo), otherwise print the exact apt-get line and stop.
#
#   ensure-setup.sh modules                  node modules only (npm run lint, npm run build)
#   ensure-setup.sh compile                  node modules and compilation only (npm run setup)
#   ensure-setup.sh run [COMMAND ARGS...]    also the packages COMMAND needs, then runs
#                                            vultr-sid-iso COMMAND ARGS (npm run build-iso …)
#   ensure-setup.sh test                     every package the tests need (npm test)
#
# `run` takes the CLI's arguments so that it asks only for what the command uses: xorriso for
# `build`, but not for `build --render-only DIR`, which writes files and repacks nothing.
set -eu
mode=${1:-run}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."

# command:package pairs this mode needs.
run_tools="xorriso:xorriso"
run_files=""
test_tools="xorriso:xorriso grub-install:grub2-common sgdisk:gdisk losetup:mount nft:nftables qemu-system-x86_64:qemu-system-x86 ndppd:ndppd cloud-init:cloud-init shellcheck:shellcheck mkfs.msdos:dosfstools mcopy:mtools ip:iproute2 ping:iputils-ping systemd-analyze:systemd debconf-set-selections:debconf dpkg-deb:dpkg openssl:openssl curl:curl python3:python3 gpg:gpg cpio:cpio depmod:kmod /usr/bin/time:time strace:strace sfdisk:fdisk mkfs.ext4:e2fsprogs radvd:radvd mmdebstrap:mmdebstrap dnsmasq:dnsmasq-base qemu-img:qemu-utils busybox:busybox-static tcpdump:tcpdump ssh:openssh-client file:file jq:jq"
test_files="/usr/share/OVMF/OVMF_CODE_4M.fd:ovmf /usr/lib/grub/i386-pc/lnxboot.img:grub-pc-bin /usr/share/keyrings/debian-archive-keyring.gpg:debian-archive-keyring"

tools=$run_tools
files=$run_files
if [ "$mode" = compile ] || [ "$mode" = modules ]; then
  tools=""
  files=""
fi
if [ "$mode" = run ] && [ $# -gt 0 ]; then
  # Only build repacks (with xorriso); its --render-only and --help do not.
  [ "$1" = build ] || tools=""
  for arg in "$@"; do
    case $arg in
      --render-only | --render-only=* | --help | -h) tools="" ;;
    esac
  done
fi
if [ "$mode" = test ]; then
  tools=$test_tools
  files=$test_files
fi

missing=""
for pair in $tools; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
for pair in $files; do
  [ -e "${pair%%:*}" ] || missing="$missing ${pair#*:}"
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "vultr-sid-iso: missing system packages; install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
  fi
  echo "vultr-sid-iso: installing$missing" >&2
  # $sudo and $missing are word lists on purpose.
  # shellcheck disable=SC2086
  $sudo apt-get update -qq >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends$missing >&2
fi

if [ ! -f node_modules/.package-lock.json ] || [ -n "$(find package-lock.json -newer node_modules/.package-lock.json)" ]; then
  echo "vultr-sid-iso: installing node modules" >&2
  npm ci --no-audit --no-fund >&2
fi

[ "$mode" = modules ] && exit 0

# Recompile when any TypeScript source is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src scripts test package.json tsconfig.json -newer "$stamp" -name '*.ts' -o -newer "$stamp" -name '*.json' 2>/dev/null | head -n1)" ]; then
  npx tsc -p tsconfig.json >&2
  touch "$stamp"
fi

if [ "$mode" = run ] && [ $# -gt 0 ]; then
  exec node dist/src/bin.js "$@"
fi
