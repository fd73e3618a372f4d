#!/bin/sh
# The lab's "installed system": the sid root from build-sid-base.sh, finished the way the ISO's
# installer finishes it, on a raw disk the lab boots with -kernel/-initrd.
#   1. What d-i does before late_command, with the values from the rendered preseed.cfg:
#      hostname, /etc/hosts, the admin user (user-setup), /etc/network/interfaces (netcfg),
#      /etc/fstab, a machine id.
#   2. The rendered installer/late.sh itself, unmodified, under busybox sh (d-i's shell) in a
#      small "installer" root: /target is the new system, /vultr-sid-iso the rendered files,
#      in-target is chroot /target. It really runs apt-get update/full-upgrade/install.
#   3. A disk: msdos label, one ext4 root partition written by mke2fs -d (no loop device).
#
# usage: build-sid-disk.sh BASE.tar RENDER_DIR OUT_DIR
#   OUT_DIR gets disk.img (raw, sparse), vmlinuz, initrd.img, cmdline, packages.txt, late.log;
#   it is built as OUT_DIR.part and renamed when complete.
# Root only (chroot, bind mounts). Test set-up only: the snapshot mirror's InRelease has
# expired, so apt in the target skips Valid-Until while late.sh runs (removed afterwards).
set -eu
base=$(realpath "$1")
render=$(realpath "$2")
out=$(realpath -m "$3")
part="$out.part"
work="$part/work"
root="$work/root"
inst="$work/installer"
disk_mib=${DISK_MIB:-4096}

unmount_all() {
  for m in "$inst/target/dev/pts" "$inst/target/dev/"* "$inst/target/dev" "$inst/target/proc" "$inst/target/sys" "$inst/target" "$inst/vultr-sid-iso"; do
    if mountpoint -q "$m" 2>/dev/null; then umount -l "$m"; fi
  done
}
cleanup() {
  unmount_all
  rm -rf "$part"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$part"
mkdir -p "$root"
tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$base"

# ---- d-i, before late_command ----------------------------------------------------------------
preseed() { sed -n "s|^d-i $1 [a-z]* \{0,1\}||p" "$render/preseed.cfg" | head -n1; }
user=$(preseed passwd/username)
gecos=$(preseed passwd/user-fullname)
hash=$(preseed passwd/user-password-crypted)
host=$(preseed netcfg/get_hostname)
domain=$(preseed netcfg/get_domain)
echo "$host" > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' \
  "${domain:+$host.$domain }$host" > "$root/etc/hosts"
# mmdebstrap leaves /etc/machine-id empty; the installer's target has one.
rm -f "$root/etc/machine-id"
chroot "$root" systemd-machine-id-setup >/dev/null
# user-setup: the user, its crypted password ("!" = none), the default groups; with root login
# off the first user also joins sudo (late.sh takes it out again for admin.sudo none).
chroot "$root" useradd -m -U -s /bin/bash -c "$gecos" "$user"
chroot "$root" usermod -p "$hash" "$user"
for g in audio cdrom dip floppy video plugdev netdev users sudo; do
  if chroot "$root" getent group "$g" >/dev/null; then chroot "$root" usermod -aG "$g" "$user"; fi
done
# netcfg: DHCPv4 on the NIC, and "inet6 auto" because it saw router advertisements.
cat > "$root/etc/network/interfaces" <<IFACES
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug enp1s0
iface enp1s0 inet dhcp
# This is an autoconfigured IPv6 interface
iface enp1s0 inet6 auto
IFACES
root_uuid=$(cat /proc/sys/kernel/random/uuid)
printf '# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=%s / ext4 errors=remount-ro 0 1\n' "$root_uuid" > "$root/etc/fstab"
# The installer's resolv.conf is in the target while late.sh runs apt-get.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

# ---- late.sh, for real -----------------------------------------------------------------------
mkdir -p "$inst/bin" "$inst/target" "$inst/vultr-sid-iso" "$inst/dev" "$inst/tmp"
busybox=$(command -v busybox)
if ! file -L "$busybox" | grep -q 'statically linked'; then
  echo "build-sid-disk: $busybox is not static; install busybox-static" >&2
  exit 2
fi
cp "$busybox" "$inst/bin/busybox"
for a in sh cp mkdir rm chmod printf echo chroot id tr grep cat dirname; do ln -sf busybox "$inst/bin/$a"; done
cat > "$inst/bin/in-target" <<'INTARGET'
#!/bin/sh
# d-i's in-target without its log plumbing: the command in the target, apt non-interactive.
exec chroot /target /usr/bin/env DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true "$@"
INTARGET
chmod +x "$inst/bin/in-target"
mount --bind "$root" "$inst/target"
mount --bind -o ro "$render" "$inst/vultr-sid-iso"
mount -t proc proc "$inst/target/proc"
# A sysfs of its own, not a bind of the host's: unmounting it can never reach the host's /sys.
mount -t sysfs sysfs "$inst/target/sys"
mount -t tmpfs -o mode=755 dev "$inst/target/dev"
for d in null zero full random urandom tty; do
  touch "$inst/target/dev/$d"
  mount --bind "/dev/$d" "$inst/target/dev/$d"
done
# As in d-i's target: no service starts while packages are configured.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99lab-valid-until"
if ! PATH=/bin "$(command -v chroot)" "$inst" /bin/sh -e /vultr-sid-iso/installer/late.sh > "$work/late.log" 2>&1; then
  tail -n 30 "$work/late.log" >&2
  echo "build-sid-disk: the rendered late.sh failed (log above)" >&2
  exit 1
fi
rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/apt/apt.conf.d/99lab-valid-until" "$root/etc/resolv.conf"
unmount_all
chroot "$root" apt-get clean
rm -rf "$root/var/lib/apt/lists/"*

kver=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
cp "$root/boot/vmlinuz-$kver" "$part/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$part/initrd.img"
echo "root=UUID=$root_uuid ro console=ttyS0,115200n8" > "$part/cmdline"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' > "$part/packages.txt"
cp "$work/late.log" "$part/late.log"

# ---- the disk --------------------------------------------------------------------------------
truncate -s "${disk_mib}M" "$part/disk.img"
sfdisk --quiet --no-reread --no-tell-kernel "$part/disk.img" <<TABLE
label: dos
start=2048, type=83, bootable
TABLE
mke2fs -q -F -t ext4 -L root -U "$root_uuid" -E offset=1048576 -d "$root" "$part/disk.img" "$(( (disk_mib - 1) * 1024 ))k"

rm -rf "$work"
rm -rf "$out"
mv "$part" "$out"
