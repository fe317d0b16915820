#!/bin/bash
# check-qemu.sh - run every `qemu = yes` payload of guests.ini under QEMU TCG
# and compare its serial output and exit status with the expected ones. This
# keeps the payloads themselves honest: a payload that fails on QEMU is wrong,
# whatever kvm-run does with it.
#
# usage: check-qemu.sh [-b BUILD_DIR] [-v] [NAME...]
#   -b  directory holding the .bin images (default: <repo>/build/guest)
#   -v  show the diff of expected and actual output on failure
#   NAME  only these payloads (default: all with qemu = yes)
# env: QEMU (default qemu-system-x86_64), TIMEOUT seconds per payload (20)
# Prints "ok NAME" or "FAIL NAME (reason)" per payload, then
# "N passed, M failed"; exits 0 only if nothing failed.

set -u
here=$(cd "$(dirname "$0")" && pwd)
build="$here/../../build/guest"
verbose=0
while getopts "b:v" opt; do
	case $opt in
	b) build=$OPTARG ;;
	v) verbose=1 ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-v] [NAME...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
qemu=${QEMU:-qemu-system-x86_64}
timeout_s=${TIMEOUT:-20}
ini="$here/guests.ini"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Parse guests.ini into parallel arrays (order of appearance kept).
names=() images=() exits=() outputs=() qemus=() qargs=()
section=""
flush() {
	[ -n "$section" ] || return 0
	names+=("$section"); images+=("$image"); exits+=("$exit_code")
	outputs+=("$output"); qemus+=("$qemu_flag"); qargs+=("$qemu_args")
}
while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	'' | ';'* | '#'*) continue ;;
	'['*']')
		flush
		section=${line#[}; section=${section%]}
		image="" exit_code="" output="" qemu_flag="no" qemu_args=""
		;;
	*=*)
		key=${line%%=*}; val=${line#*=}
		key=${key//[[:space:]]/}
		val=${val#"${val%%[![:space:]]*}"}        # trim leading blanks
		val=${val%"${val##*[![:space:]]}"}        # trim trailing blanks
		case $key in
		image) image=$val ;;
		exit) exit_code=$val ;;
		output) output=$val ;;
		qemu) qemu_flag=$val ;;
		qemu_args) qemu_args=$val ;;
		esac
		;;
	esac
done < "$ini"
flush

wanted() {
	[ $# -eq 1 ] && return 0
	local n=$1; shift
	for w in "$@"; do [ "$w" = "$n" ] && return 0; done
	return 1
}

passed=0 failed=0
for i in "${!names[@]}"; do
	name=${names[$i]}
	[ "${qemus[$i]}" = yes ] || continue
	wanted "$name" "$@" || continue
	img="$build/${images[$i]}"
	if [ ! -f "$img" ]; then
		echo "FAIL $name (missing $img)"; failed=$((failed + 1)); continue
	fi
	printf '%b' "${outputs[$i]}" > "$tmp/$name.expected"
	# shellcheck disable=SC2086 # qemu_args is a word list
	timeout "$timeout_s" "$qemu" -accel tcg ${qargs[$i]} -kernel "$img" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -device pc-testdev \
		-serial stdio -display none -monitor none -no-reboot -m 128 \
		< /dev/null > "$tmp/$name.out" 2> "$tmp/$name.err"
	status=$?
	reason=""
	if [ "$status" -ne "${exits[$i]}" ]; then
		reason="status $status, expected ${exits[$i]}"
		[ "$status" -eq 124 ] && reason="timed out after ${timeout_s}s"
	fi
	if ! cmp -s "$tmp/$name.expected" "$tmp/$name.out"; then
		reason="${reason:+$reason; }output differs"
	fi
	if [ -z "$reason" ]; then
		echo "ok $name"; passed=$((passed + 1))
	else
		echo "FAIL $name ($reason)"; failed=$((failed + 1))
		if [ "$verbose" = 1 ]; then
			diff -u "$tmp/$name.expected" "$tmp/$name.out" | sed 's/^/    /'
			sed 's/^/    stderr: /' "$tmp/$name.err"
		fi
	fi
done
# A name asked for on the command line that matched nothing is a failure too.
for w in "$@"; do
	found=0
	for i in "${!names[@]}"; do
		[ "${names[$i]}" = "$w" ] && [ "${qemus[$i]}" = yes ] && found=1
	done
	if [ "$found" = 0 ]; then
		echo "FAIL $w (no qemu = yes payload of that name)"; failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
