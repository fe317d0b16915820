#!/usr/bin/env bash
# make demo: run a guest that prints a greeting on our kvm.ko.
#
# On a host that can load modules and has hardware virtualization, load
# kernel/kvm.ko and run build/kvm-run directly.  Elsewhere (a CI box, a
# container, this project's build machine) boot the rig with our module and
# show the L1 console, guest serial included, live on the terminal.
#
#   DEMO_PAYLOAD=<guests.ini section>   default: hello, else long64, else the
#                                       first payload with expected output
#   DEMO_KVM=ours|reference             (rig only) default ours
set -euo pipefail
cd "$(dirname "$0")/.."

payload=${DEMO_PAYLOAD:-}
if [[ -z $payload && -f tests/guest/guests.ini ]]; then
	sections=$(sed -n 's/^\[\(.*\)\]$/\1/p' tests/guest/guests.ini)
	for cand in hello long64 $sections; do
		if grep -qx "\[$cand\]" tests/guest/guests.ini; then payload=$cand; break; fi
	done
fi

can_load_modules() {
	((EUID == 0)) && [[ -e /proc/modules ]] &&
	[[ -d /lib/modules/$(uname -r) ]] &&
	grep -qE 'svm|vmx' /proc/cpuinfo &&
	[[ -f kernel/kvm.ko ]] &&
	[[ $(modinfo -F vermagic kernel/kvm.ko 2>/dev/null | cut -d' ' -f1) == "$(uname -r)" ]]
}

if can_load_modules && [[ -x build/kvm-run && -n $payload ]]; then
	image=$(awk -v s="[$payload]" '$0==s{f=1;next} /^\[/{f=0} f&&/^image[ \t]*=/{sub(/^image[ \t]*=[ \t]*/,"");print;exit}' tests/guest/guests.ini)
	args=$(awk -v s="[$payload]" '$0==s{f=1;next} /^\[/{f=0} f&&/^args[ \t]*=/{sub(/^args[ \t]*=[ \t]*/,"");print;exit}' tests/guest/guests.ini)
	echo "demo: replacing the running KVM modules with kernel/kvm.ko"
	for m in kvm_amd kvm_intel kvm; do
		if grep -q "^$m " /proc/modules; then rmmod "$m"; fi
	done
	insmod kernel/kvm.ko
	for _ in $(seq 50); do [[ -c /dev/kvm ]] && break; sleep 0.1; done
	echo "demo: build/kvm-run -kernel build/guest/$image $args"
	rc=0
	# shellcheck disable=SC2086
	timeout 60 build/kvm-run -kernel "build/guest/$image" $args -nographic || rc=$?
	echo "demo: kvm-run exited with $rc"
	exit 0
fi

echo "demo: this host cannot load kvm.ko here; booting the rig (L1 under QEMU/TCG) instead"
[[ -n $payload ]] || { echo "demo: no payloads (tests/guest/guests.ini) yet" >&2; exit 1; }
exec tests/rig/rig.py --kvm="${DEMO_KVM:-ours}" --scenario demo --payload "$payload" --live
