# rig: default=yes needs=progs/pit_reinject,progs/kvm_cap timeout=120
# The in-kernel PIT's lost-tick policy (tests/rig/progs/pit_reinject): a
# guest kept from running for 500 ms with the PIT at 1 kHz then counts 200
# IRQ0s.  With reinjection on (KVM_CREATE_PIT2's default, as upstream) the
# missed ticks arrive back to back, one per EOI, so the 200 take far less
# than 200 ms; with KVM_REINJECT_CONTROL off they were coalesced into one
# and the rest need ~199 ms of real time.  Skips on a KVM without
# KVM_CAP_IRQCHIP.
. /rig/lib.sh
requires /rig/progs/pit_reinject /rig/progs/kvm_cap
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
if [ "$(/rig/progs/kvm_cap 0)" = 0 ]; then
	result reinject-on SKIP "needs KVM_CAP_IRQCHIP"
	result reinject-off SKIP "needs KVM_CAP_IRQCHIP"
else
	timeout -k 2 60 /rig/progs/pit_reinject >/tmp/pit.out 2>&1
	rc=$?
	cat /tmp/pit.out
	# judge MODE WANT: WANT is an awk condition on ms
	judge() {
		local line ms count
		line=$(grep "^reinject=$1 " /tmp/pit.out)
		count=$(echo "$line" | sed -n 's/.* count=\([0-9]*\).*/\1/p')
		ms=$(echo "$line" | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
		# count: the guest stops counting at 200, but ticks that come
		# before its CLI count too (201 on the reference)
		if [ -z "$ms" ] || [ -z "$count" ] || [ "$count" -lt 200 ]; then
			result reinject-$1 FAIL "rc=$rc, no result line with count >= 200"
		elif awk "BEGIN { exit !($ms $2) }"; then
			result reinject-$1 PASS "200 ticks in ${ms} ms (count $count)"
		else
			result reinject-$1 FAIL "200 ticks in ${ms} ms (count $count), want ms $2"
		fi
	}
	judge on "< 120"
	judge off ">= 180"
fi
check unload unload_kvm
dmesg_check
