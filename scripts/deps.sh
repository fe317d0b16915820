#!/usr/bin/env bash
# Install the Debian packages this project needs to build and test.
#
# Idempotent and silent when everything is already present: it asks dpkg
# first and only runs apt-get (update + install) for what is missing.
# Non-interactive, so it works in CI (root, no stdin).
#
#   scripts/deps.sh          install what is missing
#   scripts/deps.sh --check  only report what is missing (exit 1 if any)
set -euo pipefail

packages=(
	# toolchains
	build-essential cmake pkg-config g++ nasm kmod python3
	# kvm-run and its unit tests
	libgtest-dev libglib2.0-dev libpixman-1-dev libsdl2-dev libaio-dev
	# the rig: L1 kernel + headers for building kvm.ko, busybox initramfs,
	# the reference VMM (QEMU) and its firmware
	qemu-system-x86 linux-image-amd64 linux-headers-amd64
	busybox-static seabios cpio
	# disk images for later scenarios
	extlinux syslinux-common e2fsprogs
)

check_only=0
[[ ${1:-} == --check ]] && check_only=1

is_installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for p in "${packages[@]}"; do
	is_installed "$p" || missing+=("$p")
done

# The meta-packages linux-image-amd64 / linux-headers-amd64 can point to a
# newer ABI than the one installed; what we really need is one kernel image
# with headers of exactly the same version.
kernel_pair_ok() {
	local img ver
	for img in /boot/vmlinuz-*; do
		[[ -e $img ]] || continue
		ver=${img#/boot/vmlinuz-}
		[[ -e /lib/modules/$ver/build/Makefile ]] && return 0
	done
	return 1
}

if ((${#missing[@]} == 0)) && kernel_pair_ok; then
	exit 0
fi

if ((check_only)); then
	echo "deps: missing packages: ${missing[*]:-(none)}" >&2
	kernel_pair_ok || echo "deps: no /boot/vmlinuz-<ver> with matching /lib/modules/<ver>/build" >&2
	exit 1
fi

if ((EUID != 0)); then
	if command -v sudo >/dev/null; then
		exec sudo -n -- "$0" "$@"
	fi
	echo "deps: missing ${missing[*]}; run as root: sudo $0" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: installing ${missing[*]:-kernel image/headers}" >&2
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 \
	"${packages[@]}" </dev/null >/dev/null

if ! kernel_pair_ok; then
	echo "deps: linux-image-amd64 and linux-headers-amd64 are installed but no" \
	     "/boot/vmlinuz-<ver> has a matching /lib/modules/<ver>/build" >&2
	ls /boot/vmlinuz-* /lib/modules >&2 || true
	exit 1
fi
