#!/bin/bash
# Rebuild grub/biosgrub.img, GRUB for the ISO's BIOS boot: lnxboot.img and a grub-mkimage
# i386-pc core with every module it needs built in, so that ISOLINUX can start it as a
# "kernel" and it loads nothing from the ISO but its config. Its built-in config
# (grub/early.cfg) finds the ISO by a file only the ISO has and reads /vultr/grub/bios.cfg,
# which the build writes, with everything that depends on the config.
#
#   grub/build.sh [OUT]   (default: grub/biosgrub.img)
#
# GRUB comes from the pinned Debian packages (grub/debian-packages.txt), unpacked, not from
# this machine: the same commit gives the same bytes everywhere. grub-mkimage writes no
# dates, so the output is reproducible; test/grub/bios-image.test.ts rebuilds it and compares.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/biosgrub.img}
debs=${GRUB_DEBS_DIR:-$here/../iso/cache/grub-debs}
FIXTURE_PACKAGES=$here/debian-packages.txt sh "$here/../scripts/fixtures/fetch-debs.sh" "$debs" >&2
root=$debs/root
modules="biosdisk part_msdos part_gpt iso9660 ext2 search search_fs_file normal configfile test echo regexp serial terminal linux16 chain sleep halt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086 # the module list is a word list
"$root/usr/bin/grub-mkimage" -O i386-pc -d "$root/usr/lib/grub/i386-pc" -c "$here/early.cfg" -p /vultr/grub -o "$tmp/core.img" $modules
cat "$root/usr/lib/grub/i386-pc/lnxboot.img" "$tmp/core.img" > "$tmp/out.img"
mv "$tmp/out.img" "$out"
