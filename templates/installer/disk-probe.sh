#!/bin/sh
# Sourced by guard.sh: is a disk the installer image itself, and does a disk hold anything an
# install would destroy (a partition table, or a filesystem, LVM, RAID or swap signature)?
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

# A hybrid ISO seen as a disk: a USB stick, or a VM manager that attaches images as disks.
# Before the installer mounts it, only its ISO 9660 signature tells it from the target.
is_installer_image() {
  [ "$(blkid -p -s TYPE -o value "$1" 2>/dev/null)" = iso9660 ]
}
