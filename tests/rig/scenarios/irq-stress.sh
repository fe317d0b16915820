# rig: default=yes needs=kvm-run,stress timeout=400 accel=tcg,thread=single
# Interrupt stress (tests/guest/irq_stress.asm, listed in stress.ini): four
# vCPUs hammer IPIs and LAPIC timers for 60 s and the payload proves that no
# interrupt was lost; then no kernel warning since the module loaded, and the
# module unloads.  SKIP when the KVM offers no in-kernel irqchip.
#
# L0 runs single-threaded TCG for this scenario (accel= above).  Under
# QEMU 7.2's multi-threaded TCG, about one run in three to one in two died
# on BOTH KVMs (kvm_hold running, so not the text-patching freeze): L0
# sometimes takes a second #VMEXIT after the real one has already loaded
# L1's state, a nested page fault with exit_info_1 0x200000006 (a fault
# while walking guest page tables, write, user) at L1's own CR3 + 0xff8,
# which overwrites the guest state in the VMCB with L1's.  irq_stress runs
# with paging off, so such an exit cannot come from the guest.  Evidence:
#  - reference, ftrace kvm:kvm_exit, 6 runs, 3 failed (two L2 triple
#    faults, one "unexpected interrupt"); before one triple fault:
#    "kvm_exit: vcpu 1 reason npf rip 0xffffffffc035120c info1
#    0x0000000200000006 info2 0x0000000005c20ff8" (rip in L1's module
#    space, info2 = L1's CR3 + 0xff8);
#  - ours stops such a vCPU ("VMCB save area holds the host's state after
#    #VMEXIT", kernel/svm/svm.c): "exit 400 info 200000006 8196ff8" with
#    cr3 8196000 in the save area;
#  - single-threaded L0: 5 of 5 runs passed on the reference, 4 of 4 on
#    ours (~66 s per boot).
# FAIL 0x52 (ours 1 of 6 single-threaded runs: one vCPU never checked in)
# was the payload's own race, not a lost wake-up: a CPU could halt after
# its last timer interrupt, whose handler had seen [stop] and ended the
# chain, and nothing woke it again.  With the payload halting every round
# (-DSECONDS=10 -DHALT_MASK=0) the old code failed 3 of 3 runs on ours,
# the stuck CPU in HLT with its chain ended (the payload now prints both).
# It now halts only with [stop] checked under IF=0 (STI; HLT).  Then, with
# the fixed payload and single-threaded L0: ours 5 of 5, the reference 5 of
# 5 (zz-stress-trace, rig.stress_loops=5, ~61 s each); with the interrupt
# shadow fix on top, ours 5 of 5 again (this scenario once, zz-stress-trace
# 4 times) and the reference 1 of 1 here: default again.
#
# The payload also counts ring-handler runs that found more IPIs received
# than sent (only a duplicate delivery explains one).  They show on both
# KVMs at the same rate: ours 1176 in 43580 ring IPIs, the reference 2496
# in 98294 (one run each), and in every run with CPUs halting every round;
# the final counts still match.  Cause open (L0?), so they are reported
# in the PASS detail, not failed.
. /rig/lib.sh
requires kvm-run
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
result load PASS
for p in $(ls /rig/stress); do
	d=/rig/stress/$p out=/tmp/stress.$p.out retried=
	for try in 1 2; do
		t0=$(date +%s)
		run_dumping $out $out.err 200 kvm-run -kernel $d/image $(cat $d/args) -nographic
		rc=$?
		secs=$(($(date +%s) - t0))
		# The L0 bug above: an L2 triple fault on the reference, the
		# internal error on ours (its reason is in the kernel log; kvm-run
		# shows the suberror only).  Retry once, loudly.  A lost interrupt
		# is a FAIL code, never one of these.
		[ $try -eq 1 ] || break
		if [ $rc -eq 2 ] && grep -q "guest triple fault" $out.err; then
			why="an L2 triple fault"
		elif [ $rc -eq 3 ] && dmesg_new | grep -q "VMCB save area holds the host's state"; then
			why="L0's second #VMEXIT"
		else
			break
		fi
		echo "irq-stress: RETRY: $p ended in $why after ${secs}s:"
		cat $out $out.err
		retried=" (retried after $why at ${secs}s)"
	done
	if grep -qF "$KVM_NO_IRQCHIP_RE" $out.err; then
		result "$p" SKIP "needs the in-kernel irqchip (KVM_CAP_IRQCHIP), which this KVM does not offer"
	elif [ $rc -eq "$(cat $d/exit)" ] && grep -q "no interrupt lost" $out; then
		timers=0 ipis=0 ahead=0
		while read -r _ _ _ _ _ t _ _ i _ a; do
			timers=$((timers + 0x$t)) ipis=$((ipis + 0x$i)) ahead=$((ahead + 0x${a:-0}))
		done <<EOF
$(grep 'timer interrupts' $out)
EOF
		result "$p" PASS "${secs}s $(grep -c 'timer interrupts' $out) cpus, $timers timer interrupts, $ipis ring ipis, $ahead handler runs ahead of the sender$retried"
	else
		cat $out $out.err
		result "$p" FAIL "kvm-run exit $rc (want $(cat $d/exit)) after ${secs}s; $(grep -m1 FAIL $out)$retried"
	fi
	sed 's/^/    /' $out
done
check unload unload_kvm
dmesg_check
