# rig: default=no needs=qemu,l2linux,progs/mmubench timeout=900 modargs=npt=0
# Investigation of issue 7 (shadow MMU speed): where each KVM's exits go
# under shadow-bench's workloads.  Debian's QEMU boots L2 three times with
# npt=0: once to count the boot alone (one op of each bench), once with the
# pipe ping-pong, once with the spawn loop.  After each boot:
#  - ours: its shadow MMU counters and exits by code (shadow_stats);
#  - the reference: the kvm:kvm_exit tracepoint's counts by exit reason and
#    the counts of its shadow MMU's tracepoints (kvm_mmu:*), through
#    histogram triggers.
# The numbers are printed, not judged; every row passes when the L2 ran.
. /rig/lib.sh
requires qemu /rig/l2/vmlinuz
dmesg_mark
T=/sys/kernel/tracing
REF_EVENTS="kvm/kvm_exit kvm/kvm_page_fault kvm/kvm_emulate_insn
kvmmmu/kvm_mmu_get_page kvmmmu/kvm_mmu_sync_page kvmmmu/kvm_mmu_unsync_page
kvmmmu/kvm_mmu_prepare_zap_page kvmmmu/kvm_mmu_set_spte"

hist_key() {
	case $1 in
	kvm/kvm_exit) echo exit_reason ;;
	kvmmmu/kvm_mmu_get_page) echo created ;;
	*) echo common_pid ;;
	esac
}
# hist_trigger "" (on) or "!" (off): the histogram trigger of every event
hist_trigger() {
	local e
	for e in $REF_EVENTS; do
		[ -d $T/events/$e ] || continue
		echo "${1}hist:keys=$(hist_key $e):sort=hitcount.descending:size=256" >$T/events/$e/trigger
	done
}
hist_show() {
	local e
	for e in $REF_EVENTS; do
		[ -d $T/events/$e ] || continue
		grep -v '^#' $T/events/$e/hist | grep . | sed "s|^|zz-shadow-exits $1 $e: |"
	done
}

one_run() {
	local tag=$1 counts=$2 rc
	[ "$RIG_KVM" = reference ] && hist_trigger ""
	mmubench_boot 300 "$counts"
	rc=$?
	grep '^MMUBENCH' /tmp/l2.out | sed "s/^/zz-shadow-exits $tag: /"
	if [ "$RIG_KVM" = reference ]; then
		hist_show $tag
		hist_trigger "!"
	else
		dmesg | grep 'shadow MMU stats' | tail -n 2 | sed "s/^/zz-shadow-exits $tag: /"
	fi
	if [ $rc -eq 0 ] && grep -q '^L2-DONE' /tmp/l2.out; then
		result $tag PASS
	else
		cat /tmp/qemu.log; tail -n 30 /tmp/l2.out | sed 's/^/L2| /'
		result $tag FAIL "qemu exit $rc or no L2-DONE"
	fi
}

if [ "$RIG_KVM" = ours ]; then
	load_kvm ours $RIG_MODARGS shadow_stats=1
else
	load_kvm
fi || { result load FAIL "could not load the $RIG_KVM KVM"; exit 1; }
result load PASS "npt=$(kvm_param npt)"
mount -t tracefs nodev $T 2>/dev/null
one_run boot "mmubench.pipe=1 mmubench.spawn=1"
one_run pipe "mmubench.pipe=4000 mmubench.spawn=1"
one_run spawn "mmubench.pipe=1 mmubench.spawn=150"
check unload unload_kvm
dmesg_check
