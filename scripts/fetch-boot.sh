#!/usr/bin/env bash
# Fills the boot tree (default: boot/ beside this folder; --root DIR for another) with open boot programs:
#   iPXE (undionly.kpxe, ipxe.efi, snponly.efi) from Debian's ipxe package: enough for the built-in menu;
#   with --kernel, the menu's small Linux: vmlinuz from Debian's linux-image-amd64 (or the file named by
#   FETCH_BOOT_VMLINUZ, for sites without a Debian mirror) and initrd.img, a busybox-static shell
#   built here (scripts/make-initramfs.mjs).
#   With --secure-boot (implies --kernel), the chain UEFI Secure Boot firmware accepts: Debian's
#   Microsoft-signed shim (shim-signed: shimx64.efi.signed -> shimx64.efi) and Debian's signed network
#   GRUB beside it (grub-efi-amd64-signed: grubnetx64.efi.signed -> grubx64.efi, the name shim loads),
#   which boots the Debian-signed kernel. Always taken from the downloaded packages, never from this
#   machine's /boot or /usr/lib: what is served must be exactly what Debian signed.
# Nothing proprietary: the Windows files (bootmgfw.efi, wdsnbp.com, BCD, boot.sdi, boot.wim) come from
# the Windows ADK on an admin's machine; see docs/boot-files.md. Only boot files go into the tree:
# everything in it is served by TFTP and HTTP.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/../boot"
with_kernel=false
secure_boot=false
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) with_kernel=true ;;
    --secure-boot) secure_boot=true; with_kernel=true ;;
    --root) dest="${2:?--root needs a directory}"; shift ;;
    --root=*) dest="${1#--root=}" ;;
    *) echo "usage: fetch-boot.sh [--kernel] [--secure-boot] [--root DIR]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get -q -o APT::Sandbox::User=root download "$@" >/dev/null); }
if [ -d /usr/lib/ipxe ]; then
  src=/usr/lib/ipxe
else
  download ipxe && dpkg -x "$work"/ipxe_*.deb "$work/x"
  src="$work/x/usr/lib/ipxe"
fi
for f in undionly.kpxe ipxe.efi snponly.efi; do
  install -m 0644 "$src/$f" "$dest/$f"
  echo "$dest/$f  <- Debian ipxe ($src/$f)"
done
if $with_kernel; then
  if [ -n "${FETCH_BOOT_VMLINUZ:-}" ]; then
    install -m 0644 "$FETCH_BOOT_VMLINUZ" "$dest/vmlinuz"
    echo "$dest/vmlinuz  <- $FETCH_BOOT_VMLINUZ"
  else
    download linux-image-amd64
    dep=$(dpkg-deb -f "$work"/linux-image-amd64_*.deb Depends | grep -o 'linux-image-[0-9][^ ,]*' | head -n1)
    download "$dep" && dpkg -x "$work/$dep"_*.deb "$work/k"
    install -m 0644 "$work"/k/boot/vmlinuz-* "$dest/vmlinuz"
    echo "$dest/vmlinuz  <- Debian $dep"
  fi
  # A static busybox: the system's when busybox-static is installed, else the package's.
  busybox=/bin/busybox
  if ! { [ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1; }; then
    download busybox-static && dpkg -x "$work"/busybox-static_*.deb "$work/b"
    busybox="$work/b/bin/busybox"
  fi
  node "$here/make-initramfs.mjs" "$dest/initrd.img" "$busybox"
  echo "$dest/initrd.img  <- busybox-static shell ($busybox)"
fi
if $secure_boot; then
  download shim-signed grub-efi-amd64-signed
  dpkg -x "$work"/shim-signed_*.deb "$work/s"
  dpkg -x "$work"/grub-efi-amd64-signed_*.deb "$work/g"
  install -m 0644 "$work/s/usr/lib/shim/shimx64.efi.signed" "$dest/shimx64.efi"
  echo "$dest/shimx64.efi  <- Debian shim-signed (shimx64.efi.signed, signed by Microsoft)"
  install -m 0644 "$work/g/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed" "$dest/grubx64.efi"
  echo "$dest/grubx64.efi  <- Debian grub-efi-amd64-signed (grubnetx64.efi.signed, signed by Debian)"
fi
