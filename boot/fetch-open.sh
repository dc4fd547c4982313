#!/usr/bin/env bash
# Fills the boot tree with the open boot programs and a default iPXE script:
#   iPXE (undionly.kpxe, ipxe.efi, snponly.efi) from Debian's ipxe package,
#   a Linux kernel (vmlinuz) from Debian's linux-image-amd64 when --kernel is given.
# Nothing proprietary: the Windows files (bootmgfw.efi, wdsnbp.com, BCD, boot.sdi, boot.wim) come from
# the Windows ADK on an admin's machine; see boot/README.md.
set -euo pipefail
dest=$(cd "$(dirname "$0")" && pwd)
with_kernel=false
[ "${1:-}" = "--kernel" ] && with_kernel=true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -d /usr/lib/ipxe ]; then
  src=/usr/lib/ipxe
else
  (cd "$work" && apt-get download ipxe >/dev/null && dpkg -x ipxe_*.deb x)
  src="$work/x/usr/lib/ipxe"
fi
for f in undionly.kpxe ipxe.efi snponly.efi; do
  install -m 0644 "$src/$f" "$dest/$f"
  echo "boot/$f  <- Debian ipxe ($src/$f)"
done
if $with_kernel; then
  (cd "$work" && apt-get download linux-image-amd64 >/dev/null)
  dep=$(dpkg-deb -f "$work"/linux-image-amd64_*.deb Depends | grep -o 'linux-image-[0-9][^ ,]*' | head -n1)
  (cd "$work" && apt-get download "$dep" >/dev/null && dpkg -x "$dep"_*.deb k)
  install -m 0644 "$work"/k/boot/vmlinuz-* "$dest/vmlinuz"
  echo "boot/vmlinuz  <- Debian $dep"
fi
if [ ! -e "$dest/boot.ipxe" ]; then
  cat > "$dest/boot.ipxe" <<'IPXE'
#!ipxe
# Rendered per client by Bootgate: {{http}}, {{tftp}}, {{server}}, {{mac}}, {{uuid}}, {{arch}}, {{profile}}.
echo Bootgate: {{mac}} ({{arch}}) boots profile {{profile}}
kernel {{http}}/vmlinuz console=ttyS0 console=tty0
initrd {{http}}/initrd.img
boot
IPXE
  echo "boot/boot.ipxe  <- default script (edit it)"
fi
