#!/bin/sh
# Sourced by guard.sh: does a disk hold anything an install would destroy? A partition table
# (MBR or GPT), or a filesystem, LVM, RAID or swap signature on the whole disk.
# Only what the installer's initrd has: busybox (which has no od or hexdump) and util-linux's
# blkid. test/installer/disk-probe.test.ts runs this file with the real initrd's tools.

disk_holds_data() {
  # blkid -p probes the raw device: 0 = found a signature, 8 = found conflicting ones,
  # 2 = found none; anything else (no blkid, unreadable) falls through to the checks below.
  blkid -p "$1" >/dev/null 2>&1
  case $? in
    0 | 8) return 0 ;;
  esac
  # The two partition table signatures, with dd alone: 55 aa at the end of sector 0 (MBR,
  # and GPT's protective MBR); "EFI PART" at LBA 1 (512- or 4096-byte sectors).
  [ "$(dd if="$1" bs=1 skip=510 count=2 2>/dev/null)" = "$(printf '\125\252')" ] && return 0
  for offset in 512 4096; do
    [ "$(dd if="$1" bs=1 skip="$offset" count=8 2>/dev/null)" = "EFI PART" ] && return 0
  done
  return 1
}
