# rig: default=no needs=qemu,l2linux,progs/mmubench timeout=600 modargs=npt=0
# Benchmark (not a test of speed) of the shadow MMU, for make bench: Debian's
# QEMU (its own irqchip, as in qemu-workloads) boots the distro Linux with
# npt=0 on the chosen KVM, and L2 runs tests/rig/l2/mmubench.sh. Rows, as
# checks with "value=", in ns per op by L2's clock:
#   l2.pipe-ns      one round trip of a byte between two processes through
#                   a pair of pipes (two context switches, two CR3 writes)
#   l2.spawn-ns     fork + exec of busybox true + wait
# Each the median of 3 rounds in one L2 boot (single figures swung by
# 1.5-2x from run to run); the detail lists every round.  L2 runs without
# paravirtual features (nopv, lib.sh mmubench_boot) on both KVMs.
# On ours both again with shadow_cache=0 (l2.*-ns_nocache), to show what the
# cache of shadow page tables is worth (fewer ops: see one_run's callers), and
# with shadow_unsync=0 (l2.*-ns_nounsync: every write to a shadowed guest page
# table emulated, none let out of sync). A row fails only when the workload
# did not run (a broken bench), never on a number.
. /rig/lib.sh
requires qemu /rig/l2/vmlinuz
dmesg_mark

# one_run SUFFIX COUNTS: boots L2 once, runs mmubench.sh with COUNTS (its
# kernel parameters), reports the rows with SUFFIX appended
one_run() {
	local sfx=$1 counts=$2 rc name
	mmubench_boot 240 "$counts"
	rc=$?
	# ours logs its shadow MMU counters when the VM goes (shadow_stats: two lines)
	dmesg | grep 'shadow MMU stats' | tail -n 2 | sed "s/^/shadow-bench$sfx: /"
	for name in pipe spawn; do
		# the median of the rounds (value), all of them (rounds=)
		all=$(sed -n "s/^MMUBENCH $name \([0-9]*\) [0-9]*.*/\1/p" /tmp/l2.out | tr -d '\r')
		set -- $(sed -n "s/^MMUBENCH $name \([0-9]*\) \([0-9]*\).*/\1 \2/p" /tmp/l2.out |
			tr -d '\r' | sort -n | awk '{ v[NR] = $1; o = $2 } END { if (NR) print v[int((NR + 1) / 2)], o }')
		if [ $# -eq 2 ] && [ $rc -eq 0 ] && grep -q '^L2-DONE' /tmp/l2.out; then
			result l2.$name-ns$sfx PASS "value=$1 ops=$2 rounds=$(echo $all | tr ' ' ,)"
		else
			cat /tmp/qemu.log; tail -n 30 /tmp/l2.out | sed 's/^/L2| /'
			result l2.$name-ns$sfx FAIL "no MMUBENCH $name line or no L2-DONE (qemu exit $rc)"
		fi
	done
}

if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
result load PASS "npt=$(kvm_param npt)"
[ "$RIG_KVM" = ours ] && echo Y >/sys/module/kvm/parameters/shadow_stats
one_run "" "mmubench.pipe=4000 mmubench.spawn=150 mmubench.rounds=3"
check unload unload_kvm
if [ "$RIG_KVM" = ours ]; then
	if load_kvm ours $RIG_MODARGS shadow_unsync=0 shadow_stats=1; then
		one_run _nounsync "mmubench.pipe=4000 mmubench.spawn=150 mmubench.rounds=3"
		check unload-nounsync unload_kvm
	else
		result load-nounsync FAIL "could not load ours with shadow_unsync=0"
	fi
	if load_kvm ours $RIG_MODARGS shadow_cache=0 shadow_stats=1; then
		# every CR3 switch rebuilds the address space: a few hundred
		# times slower, so fewer round trips and processes
		one_run _nocache "mmubench.pipe=100 mmubench.spawn=10"
		check unload-nocache unload_kvm
	else
		result load-nocache FAIL "could not load ours with shadow_cache=0"
	fi
fi
dmesg_check
