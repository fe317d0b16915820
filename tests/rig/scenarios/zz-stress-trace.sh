# rig: default=no needs=kvm-run,stress timeout=560
# Investigation of irq-stress's L0 bug (see irq-stress.sh): irq_stress
# rig.stress_loops times (default 7) under L0's default multi-threaded TCG
# (--accel tcg,thread=single to compare), with an L1 ftrace filter (on the
# reference; our module has no tracepoints and reports the bug itself)
# that records only kvm:kvm_exit events of INTR exits and of NPF exits
# whose exit_info_1 has bit 33 (fault while walking the guest's page
# tables).  irq_stress runs with paging off, so it has no page tables: any
# such NPF is an exit the guest cannot have caused.
. /rig/lib.sh
requires kvm-run
dmesg_mark
load_kvm || { result load FAIL "could not load"; exit 1; }
result load PASS
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
tracing=no
if [ -d $T/events/kvm/kvm_exit ]; then
	echo 'exit_reason == 96 || (exit_reason == 1024 && info1 & 0x200000000)' > $T/events/kvm/kvm_exit/filter &&
	echo 4096 > $T/buffer_size_kb &&
	echo 1 > $T/events/kvm/kvm_exit/enable && tracing=yes
fi
echo "tracing kvm_exit: $tracing"
cat $T/events/kvm/kvm_exit/format 2>/dev/null | grep field
d=/rig/stress/irq_stress
loops=$(cmdline_get rig.stress_loops 7)
i=0
while [ $i -lt $loops ]; do
	i=$((i + 1))
	[ $tracing = yes ] && echo > $T/trace
	t0=$(date +%s)
	run_dumping /tmp/s.out /tmp/s.err 200 kvm-run -kernel $d/image $(cat $d/args) -nographic
	rc=$?
	secs=$(($(date +%s) - t0))
	if [ $rc -eq 1 ] && grep -q "no interrupt lost" /tmp/s.out; then
		result "run$i" PASS "${secs}s"
	else
		cat /tmp/s.out /tmp/s.err
		result "run$i" FAIL "exit $rc after ${secs}s"
	fi
	if [ $tracing = yes ]; then
		echo "trace: $(grep -c 'reason interrupt' $T/trace) INTR exits, $(grep -c 'reason npf' $T/trace) NPFs with a guest page-table walk; overruns: $(grep -i overrun $T/per_cpu/cpu*/stats | tr '\n' ' ')"
		grep 'reason npf' $T/trace | tail -n 10
	fi
done
[ $tracing = yes ] && echo 0 > $T/events/kvm/kvm_exit/enable
check unload unload_kvm
dmesg_check
