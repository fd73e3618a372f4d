#!/bin/sh
# The lab's "installed system": the sid root from build-sid-base.sh, finished the way the ISO's
# installer finishes it, on a raw disk the lab boots with -kernel/-initrd.
#   1. What d-i does before late_command, with the values from the rendered preseed.cfg:
#      hostname, /etc/hosts, the admin user (user-setup), /etc/network/interfaces (netcfg),
#      /etc/fstab, a machine id.
#   2. The rendered installer/late.sh itself, unmodified, under busybox sh (d-i's shell) in a
#      small "installer" root: /target is the new system, /vultr-sid-iso the rendered files,
#      in-target is chroot /target. It really runs apt-get: the root has only what the
#      installer installs, so late.sh installs cloud-init, docker.io, ndppd and the rest. Its
#      /dev/ttyS0 is a pseudo-terminal whose output is kept: what it told the consoles.
#   3. A disk: msdos label, one ext4 root partition written by mke2fs -d (no loop device).
#
# usage: build-sid-disk.sh BASE.tar RENDER_DIR OUT_DIR
#   OUT_DIR gets disk.img (raw, sparse), vmlinuz, initrd.img, cmdline, packages.txt, late.log
#   (late.sh's own output), console.log (what it told the consoles) and install-status (what
#   it recorded); it is built as OUT_DIR.part and renamed when complete.
# env (test set-up only):
#   LAB_APT_PROXY=URL   apt in the target goes through this proxy while late.sh runs (the lab's
#                       fault-injecting package source, scripts/lab/apt-fault-proxy.ts);
#   LAB_REQUESTS=FILE   what it did with each request, copied into OUT_DIR/requests.jsonl
#   LAB_NETWORK=networkd  the installer wrote a systemd-networkd configuration instead of
#                       ifupdown's (late.sh must refuse it)
#   LAB_LATE_ONLY=1     stop after late.sh (no disk): for an install that is meant to fail.
#                       A late.sh that reports a failed install holds the consoles forever (as
#                       on a VM); it is stopped once it says so. With LAB_WIPE_DISK=1 the
#                       installer's target disk is a small loop device with a partition table,
#                       which a failed install must wipe; OUT_DIR/wipe.txt says what blkid saw
#                       on it before and after.
# late.sh's retries run 1 s apart (VSI_RETRY_SECONDS=1, the variable late.sh documents).
# Root only (chroot, bind mounts). The snapshot mirror's InRelease has expired, so apt in the
# target skips Valid-Until while late.sh runs (removed afterwards, like the proxy).
set -eu
base=$(realpath "$1")
render=$(realpath "$2")
out=$(realpath -m "$3")
part="$out.part"
work="$part/work"
root="$work/root"
inst="$work/installer"
disk_mib=${DISK_MIB:-4096}
loop=

unmount_all() {
  for m in "$inst/target/dev/pts" "$inst/target/dev/"* "$inst/target/dev" "$inst/target/proc" "$inst/target/sys" "$inst/target" "$inst/vultr-sid-iso" "$inst/dev/"* "$inst/sys"; do
    if mountpoint -q "$m" 2>/dev/null; then umount -l "$m"; fi
  done
}
cleanup() {
  unmount_all
  if [ -n "$loop" ]; then losetup -d "$loop" 2>/dev/null || true; fi
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
if [ "${LAB_NETWORK:-ifupdown}" = networkd ]; then
  # A netcfg that wrote systemd-networkd's configuration (a merge request proposes one), with
  # ifupdown's file left at loopback as netcfg leaves it for NetworkManager.
  printf 'auto lo\niface lo inet loopback\n' > "$root/etc/network/interfaces"
  mkdir -p "$root/etc/systemd/network"
  printf '[Match]\nName=enp1s0\n\n[Network]\nDHCP=yes\n' > "$root/etc/systemd/network/10-enp1s0.network"
  chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
else
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
fi
root_uuid=$(cat /proc/sys/kernel/random/uuid)
printf '# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=%s / ext4 errors=remount-ro 0 1\n' "$root_uuid" > "$root/etc/fstab"
# The installer's resolv.conf is in the target while late.sh runs apt-get.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

# ---- late.sh, for real -----------------------------------------------------------------------
mkdir -p "$inst/bin" "$inst/target" "$inst/vultr-sid-iso" "$inst/dev" "$inst/tmp" "$inst/sys"
busybox=$(command -v busybox)
if ! file -L "$busybox" | grep -q 'statically linked'; then
  echo "build-sid-disk: $busybox is not static; install busybox-static" >&2
  exit 2
fi
cp "$busybox" "$inst/bin/busybox"
for a in $("$busybox" --list); do
  if [ "$a" != busybox ]; then ln -sf busybox "$inst/bin/$a"; fi
done
cat > "$inst/bin/in-target" <<'INTARGET'
#!/bin/sh
# d-i's in-target without its log plumbing: the command in the target, apt non-interactive.
# (--pass-stdout: d-i's in-target passes the command's output on rather than logging it.)
[ "$1" = --pass-stdout ] && shift
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
for d in null zero; do
  touch "$inst/dev/$d"
  mount --bind "/dev/$d" "$inst/dev/$d"
done
touch "$inst/dev/ttyS0"
if [ "${LAB_WIPE_DISK:-}" = 1 ]; then
  # The disk d-i partitioned, as our guard told partman (partman-auto/disk): a loop device
  # with a partition table, under its own name, with the installer's sysfs for its size.
  truncate -s 64M "$work/target-disk.img"
  printf 'label: dos\n,,L\n' | sfdisk --quiet "$work/target-disk.img"
  loop=$(losetup -f --show "$work/target-disk.img")
  touch "$inst$loop"
  mount --bind "$loop" "$inst$loop"
  mount -t sysfs sysfs "$inst/sys"
  # shellcheck disable=SC2016 # the stub's own $1
  printf '#!/bin/sh\n[ "$1" = partman-auto/disk ] && echo %s\n' "$loop" > "$inst/bin/debconf-get"
  chmod +x "$inst/bin/debconf-get"
  echo "before: $(blkid -p -o export "$work/target-disk.img" | tr '\n' ' ')" > "$work/wipe.txt"
fi
# As in d-i's target: no service starts while packages are configured.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99lab-valid-until"
if [ -n "${LAB_APT_PROXY:-}" ]; then
  echo "Acquire::http::Proxy \"$LAB_APT_PROXY\";" > "$root/etc/apt/apt.conf.d/99lab-proxy"
fi
# late.sh under a pseudo-terminal, which its /dev/ttyS0 is bound to: console.raw is what it
# said on the consoles, late.log its own output. Watched: a failed install holds the consoles.
: > "$work/console.raw"
# shellcheck disable=SC2016 # expanded by the shell that script(1) starts
LAB_INST=$inst LAB_LATE_LOG=$work/late.log LAB_CHROOT=$(command -v chroot) VSI_RETRY_SECONDS=1 script -q -e -f -c \
  'mount --bind "$(tty)" "$LAB_INST/dev/ttyS0" && PATH=/bin exec "$LAB_CHROOT" "$LAB_INST" /bin/sh /vultr-sid-iso/installer/late.sh > "$LAB_LATE_LOG" 2>&1' \
  "$work/console.raw" < /dev/null > /dev/null 2>&1 &
late=$!
held=no
while kill -0 "$late" 2>/dev/null; do
  if grep -q 'restart the VM to install again (' "$work/console.raw"; then
    held=yes
    kill "$late" 2>/dev/null || true
    break
  fi
  sleep 1
done
late_rc=0
wait "$late" || late_rc=$?
# Nothing of it may outlive it (a held late.sh sleeps between its reminders).
for proc in /proc/[0-9]*; do
  if [ "$(readlink "$proc/root" 2>/dev/null)" = "$inst" ]; then kill -9 "${proc#/proc/}" 2>/dev/null || true; fi
done
tr -d '\r' < "$work/console.raw" | grep '^vultr-sid-iso: ' > "$part/console.log" || true
cp "$work/late.log" "$part/late.log"
if [ -n "${LAB_REQUESTS:-}" ] && [ -f "$LAB_REQUESTS" ]; then cp "$LAB_REQUESTS" "$part/requests.jsonl"; fi
cp "$root/var/lib/vultr-sid-iso/install-status" "$part/install-status" 2>/dev/null || true
rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/apt/apt.conf.d/99lab-valid-until" "$root/etc/apt/apt.conf.d/99lab-proxy" "$root/etc/resolv.conf"
if [ -n "$loop" ]; then
  sync
  echo "after: $(blkid -p -o export "$work/target-disk.img" | tr '\n' ' ')" >> "$work/wipe.txt"
  cp "$work/wipe.txt" "$part/wipe.txt"
fi
if [ "$held" = yes ] && [ "${LAB_LATE_ONLY:-}" != 1 ]; then
  tail -n 30 "$part/console.log" >&2
  echo "build-sid-disk: the rendered late.sh reported a failed install (console above)" >&2
  exit 1
fi
if [ "$held" = no ] && [ "$late_rc" -ne 0 ]; then
  tail -n 30 "$work/late.log" >&2
  echo "build-sid-disk: the rendered late.sh failed (exit $late_rc; log above)" >&2
  exit 1
fi
unmount_all
if [ "${LAB_LATE_ONLY:-}" = 1 ]; then
  rm -rf "$work"
  rm -rf "$out"
  mv "$part" "$out"
  exit 0
fi
chroot "$root" apt-get clean
rm -rf "$root/var/lib/apt/lists/"*

kver=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
cp "$root/boot/vmlinuz-$kver" "$part/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$part/initrd.img"
# The root only: sid-disk.ts adds the console arguments the ISO's boot entries hand on to the
# installed system (src/iso/boot-menus.ts), so the lab boots with the product's own.
echo "root=UUID=$root_uuid ro" > "$part/cmdline"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' > "$part/packages.txt"

# ---- AppArmor's policy cache: PID 1 of a warm-up boot ----------------------------------------
# A first boot compiles every AppArmor profile (147 in sid's apparmor 5.0) before sysinit.target:
# under TCG that is most of the boot (about 50 of 85 s to the login prompt alone, 85 s beside a
# second VM), and every lab VM boots a fresh overlay of this disk. One boot of the disk's own
# kernel with this as PID 1 does what apparmor.service does (apparmor.systemd reload writes
# /var/cache/apparmor for the running kernel's features) and powers off; the lab's first boots
# then load that cache as a reboot does. It removes itself: the disk holds nothing else of it.
# (A real VM compiles the profiles itself, on KVM, in seconds.)
warm=
if [ -x "$root/usr/lib/apparmor/apparmor.systemd" ]; then
  warm=/vsi-lab-warm-apparmor
  cat > "$root$warm" <<'WARM'
#!/bin/sh
# From a copy in memory: a script still open on the root, once removed, keeps it from
# going read-only before the power-off.
if [ "$0" != /run/warm ]; then
  mount -t tmpfs tmpfs /run
  cp "$0" /run/warm
  exec /bin/sh /run/warm "$0"
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t securityfs securityfs /sys/kernel/security
if /usr/lib/apparmor/apparmor.systemd reload; then
  echo "vsi-lab-warm: apparmor cache written: $(find /var/cache/apparmor -type f | wc -l) files"
fi
rm -f "$1"
sync
mount -o remount,ro / && echo "vsi-lab-warm: root read-only"
echo o > /proc/sysrq-trigger
# Nothing read from the disk while it powers off.
while :; do :; done
WARM
  chmod 755 "$root$warm"
fi

# ---- the disk --------------------------------------------------------------------------------
truncate -s "${disk_mib}M" "$part/disk.img"
sfdisk --quiet --no-reread --no-tell-kernel "$part/disk.img" <<TABLE
label: dos
start=2048, type=83, bootable
TABLE
mke2fs -q -F -t ext4 -L root -U "$root_uuid" -E offset=1048576 -d "$root" "$part/disk.img" "$(( (disk_mib - 1) * 1024 ))k"

if [ -n "$warm" ]; then
  # One vCPU under single-threaded TCG: the warm-up boot cannot meet the live-patching race
  # of multi-threaded TCG (docs/testing.md, "Dead boots under TCG"), and the compile is one
  # process anyway. -no-reboot: a panic ends QEMU; timeout: a hang ends it.
  timeout 900 qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 1 -m 1024 \
    -display none -monitor none -nic none -no-reboot -serial "file:$part/warm.log" \
    -kernel "$part/vmlinuz" -initrd "$part/initrd.img" \
    -append "root=UUID=$root_uuid rw init=$warm console=ttyS0,115200n8 panic=-1" \
    -drive "file=$part/disk.img,format=raw,if=virtio" || true
  if ! grep -q '^vsi-lab-warm: apparmor cache written: [1-9]' "$part/warm.log" || ! grep -q '^vsi-lab-warm: root read-only' "$part/warm.log"; then
    tail -n 30 "$part/warm.log" >&2
    echo "build-sid-disk: the warm-up boot wrote no AppArmor cache (its console above)" >&2
    exit 1
  fi
  rm -f "$part/warm.log"
fi

rm -rf "$work"
rm -rf "$out"
mv "$part" "$out"
