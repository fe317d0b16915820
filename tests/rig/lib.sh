# Helpers for rig scenarios, sourced by /init and by every scenario script
# inside L1 (busybox sh).  Scenario scripts start with:
#     . /rig/lib.sh
#
# Result lines go to fd 3 (the second serial port, parsed by rig.py) and,
# for humans reading the log, to the console:
#     RIG: <scenario> <check> PASS|FAIL|SKIP <detail>
# A detail word of the form sig=<token> is compared between ours and the
# reference when rig.py runs with --kvm=both.

KVM_OURS=/kvm/ours
KVM_REF=/kvm/reference
RUN_TIMEOUT=${RUN_TIMEOUT:-30}

# Kernel messages that mean the L1 kernel (and so a module) misbehaved.
KERNEL_BAD_RE='BUG:|Oops|WARNING:|general protection|Call Trace|Kernel panic|RIP: '

# fd 3 is set up by /init; keep scenarios usable when run by hand.
{ true >&3; } 2>/dev/null || exec 3>/dev/null

cmdline_get() {  # KEY DEFAULT -> value of KEY=value on the kernel command line
	local w
	for w in $(cat /proc/cmdline); do
		case "$w" in
		"$1"=*) echo "${w#*=}"; return 0 ;;
		esac
	done
	echo "$2"
}

result() {  # NAME PASS|FAIL|SKIP DETAIL...
	local name=$1 status=$2
	shift 2
	echo "RIG: ${RIG_SCENARIO:-adhoc} $name $status $*" >&3
	echo "rig: [$status] ${RIG_SCENARIO:-adhoc}/$name $*"
}

check() {  # NAME COMMAND... : PASS when COMMAND succeeds
	local name=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		result "$name" PASS
	else
		local rc=$?
		cat /tmp/check.out
		result "$name" FAIL "rc=$rc: $*"
	fi
}

kvm_loaded() { grep -q '^kvm ' /proc/modules; }

wait_dev_kvm() {  # wait (up to 5 s) for devtmpfs to show /dev/kvm
	local i=0
	while [ ! -c /dev/kvm ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && return 1
		sleep 0.1
	done
}

# l1_vendor: svm (QEMU's L1) or vmx (Bochs-VMX's L1), from CPUID's flags
l1_vendor() {
	if grep -qw vmx /proc/cpuinfo; then echo vmx; else echo svm; fi
}

# paging_args_for_vendor ARGS...: the module arguments with npt= and ept=
# (nested paging on or off) named as L1's vendor names it: a scenario
# written for npt=0 (qemu-linux-shadow, payloads-shadow, ...) runs on shadow
# paging under Bochs-VMX too, instead of kvm-intel ignoring an unknown npt=
# (and ours' SVM-only npt=) and running EPT.
paging_args_for_vendor() {
	local a want
	[ "$(l1_vendor)" = vmx ] && want=ept || want=npt
	for a in "$@"; do
		case "$a" in
		npt=*|ept=*) echo "$want=${a#*=}" ;;
		*) echo "$a" ;;
		esac
	done
}

# load_kvm ours|reference [module args...]
# ours: our kvm.ko (SVM or VMX inside it); the args go to it.
# reference: the distro's irqbypass, kvm, then ccp + kvm-amd on SVM or
# kvm-intel on VMX; the args go to the vendor module.
load_kvm() {
	local which=${1:-$RIG_KVM}
	shift
	[ $# -eq 0 ] && set -- $RIG_MODARGS
	set -- $(paging_args_for_vendor "$@")
	case "$which" in
	ours)
		insmod $KVM_OURS/kvm.ko "$@" || return 1
		;;
	reference)
		insmod $KVM_REF/irqbypass.ko &&
		insmod $KVM_REF/kvm.ko || return 1
		if [ "$(l1_vendor)" = vmx ]; then
			insmod $KVM_REF/kvm-intel.ko "$@" || return 1
		else
			{ insmod $KVM_REF/ccp.ko || true; } &&
			insmod $KVM_REF/kvm-amd.ko "$@" || return 1
		fi
		;;
	*)
		echo "load_kvm: unknown kvm '$which'" >&2
		return 1
		;;
	esac
	wait_dev_kvm || { echo "load_kvm: /dev/kvm did not appear" >&2; return 1; }
	kvm_params_took $([ "$which" = ours ] && echo kvm || echo kvm_amd,kvm_intel) "$@" || return 1
	kvm_hold_start
}

# One empty VM held open from load_kvm to unload_kvm, so that L1's
# preempt-notifier static key is not flipped (and __schedule not
# text-patched) by every VM a test creates and destroys: that patching
# freezes L1 under L0's multi-threaded TCG now and then (progs/kvm_hold.c).
KVM_HOLD_PIDFILE=/tmp/kvm_hold.pid

kvm_hold_start() {
	local i=0 pid
	[ -x /rig/progs/kvm_hold ] || return 0
	/rig/progs/kvm_hold >/tmp/kvm_hold.out 2>&1 </dev/null &
	pid=$!
	echo $pid >$KVM_HOLD_PIDFILE
	while ! grep -q ready /tmp/kvm_hold.out 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
			echo "load_kvm: kvm_hold did not start: $(cat /tmp/kvm_hold.out)" >&2
			rm -f $KVM_HOLD_PIDFILE
			return 1
		fi
		sleep 0.05
	done
}

kvm_hold_stop() {
	local pid i=0
	[ -f $KVM_HOLD_PIDFILE ] || return 0
	pid=$(cat $KVM_HOLD_PIDFILE)
	rm -f $KVM_HOLD_PIDFILE
	kill $pid 2>/dev/null
	# gone, or a zombie (its files are closed then) of a shell that did not reap it
	while [ -d /proc/$pid ] && ! grep -q "^State:.*Z" /proc/$pid/status 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "unload_kvm: kvm_hold $pid did not exit" >&2; return 1; }
		sleep 0.05
	done
	wait $pid 2>/dev/null
	return 0
}

# kvm_params_took MODULES NAME=VALUE...: every argument that one of the
# comma-separated MODULES (those load_kvm gave the arguments to) has as a
# readable parameter reads back as asked (booleans as Y/N), so that a run
# meant for, say, npt=0 cannot pass on nested paging.  Arguments the module
# does not have (ours' irqchip= on the reference) are not checked.
kvm_params_took() {
	local mods=$(echo $1 | tr , ' ') a name want have m f
	shift
	for a in "$@"; do
		name=${a%%=*}
		want=${a#*=}
		f=
		for m in $mods; do
			[ -r /sys/module/$m/parameters/$name ] && { f=/sys/module/$m/parameters/$name; break; }
		done
		[ -n "$f" ] || continue
		have=$(cat $f)
		case "$have:$want" in
		Y:1|Y:y|Y:Y|N:0|N:n|N:N) continue ;;
		esac
		[ "$have" = "$want" ] && continue
		echo "load_kvm: $f reads '$have', asked for '$want'" >&2
		return 1
	done
}

# kvm_param NAME: a parameter of the loaded KVM (the vendor module's first)
kvm_param() {
	local m
	for m in kvm_amd kvm_intel kvm; do
		[ -r /sys/module/$m/parameters/$1 ] && { cat /sys/module/$m/parameters/$1; return 0; }
	done
	return 1
}

unload_kvm() {  # remove whichever KVM is loaded; fails if it stays
	local m
	kvm_hold_stop || return 1
	for m in kvm_amd kvm_intel kvm ccp irqbypass; do
		grep -q "^$m " /proc/modules && { rmmod $m || return 1; }
	done
	# devtmpfs removes the node when the misc device goes away
	local i=0
	while [ -e /dev/kvm ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && { echo "unload_kvm: /dev/kvm still present" >&2; return 1; }
		sleep 0.1
	done
	! kvm_loaded
}

# dmesg_mark; ...; dmesg_check NAME  -> one check: no splat since the mark
dmesg_mark() { DMESG_MARK=$(dmesg | wc -l); }

dmesg_new() { dmesg | tail -n +$((${DMESG_MARK:-0} + 1)); }

dmesg_check() {
	local name=${1:-dmesg-clean} bad
	bad=$(dmesg_new | grep -E "$KERNEL_BAD_RE" | head -n 3)
	if [ -n "$bad" ]; then
		dmesg_new | tail -n 60
		result "$name" FAIL "$(echo "$bad" | tr '\n' '|' | cut -c1-200)"
	else
		result "$name" PASS
	fi
}

# payload_list: names of the payloads packed from tests/guest/guests.ini
# payload_list: the payloads of the default set (guests.ini's set = key)
payload_list() {
	local p
	for p in $(ls /rig/payloads 2>/dev/null); do
		[ "$(cat /rig/payloads/$p/set 2>/dev/null)" = investigation ] || echo $p
	done
}

# run_payload NAME OUTFILE: runs kvm-run on that payload under a timeout;
# stdout (the guest serial) to OUTFILE, stderr appended to OUTFILE.err.
# Returns kvm-run's exit status (124/137/143 on timeout).
run_payload() {
	local d=/rig/payloads/$1 args
	args=$(cat $d/args 2>/dev/null)
	case " $args " in *" -nographic "*) ;; *) args="$args -nographic" ;; esac
	timeout -k 2 "$RUN_TIMEOUT" kvm-run -kernel $d/image $args \
		<&- >"$2" 2>"$2.err"
}

# payload_run_compare NAME: runs the payload once and compares with
# guests.ini.  Sets PAYLOAD_RC, PAYLOAD_SIG (exit=N,out=<md5 prefix>),
# PAYLOAD_WHY (empty on a match) and PAYLOAD_OUT (the serial output file).
payload_run_compare() {
	local d=/rig/payloads/$1 want_exit
	PAYLOAD_OUT=/tmp/payload.$1.out
	want_exit=$(cat $d/exit)
	run_payload "$1" $PAYLOAD_OUT
	PAYLOAD_RC=$?
	PAYLOAD_SIG="exit=$PAYLOAD_RC,out=$(md5sum <$PAYLOAD_OUT | cut -c1-12)"
	PAYLOAD_WHY=""
	[ $PAYLOAD_RC -eq "$want_exit" ] || PAYLOAD_WHY="exit $PAYLOAD_RC want $want_exit;"
	case $PAYLOAD_RC in 124|137|143) PAYLOAD_WHY="timed out after ${RUN_TIMEOUT}s;" ;; esac
	cmp -s $PAYLOAD_OUT $d/output ||
		PAYLOAD_WHY="$PAYLOAD_WHY output differs ($(wc -c <$PAYLOAD_OUT) bytes, want $(wc -c <$d/output))"
	[ -z "$PAYLOAD_WHY" ]
}

payload_show_failure() {  # NAME: what ran, what came out, what was expected
	local d=/rig/payloads/$1
	echo "--- $1: kvm-run exit $PAYLOAD_RC (want $(cat $d/exit)); serial output:"
	head -c 2000 $PAYLOAD_OUT; echo
	echo "--- expected:"
	head -c 2000 $d/output; echo
	echo "--- kvm-run stderr:"
	head -c 2000 $PAYLOAD_OUT.err; echo
}

# KVM_NO_IRQCHIP_RE: what kvm-run says when a payload needs the in-kernel
# irqchip (-smp above 1) and the KVM offers none (KVM_CAP_IRQCHIP).
KVM_NO_IRQCHIP_RE='KVM_CAP_IRQCHIP), which this KVM does not offer'

# kvm_shadow_paging: true when the loaded KVM runs guests on shadow page
# tables (npt=0 or ept=0, on ours or on the reference's vendor module).
kvm_shadow_paging() {
	local v
	if [ "$(l1_vendor)" = vmx ]; then v=$(kvm_param ept); else v=$(kvm_param npt); fi
	case $v in 0|N) return 0 ;; esac
	return 1
}

# payload_check NAME [CHECKNAME]: one check comparing exit status and
# the exact serial output with guests.ini.  A payload that needs the
# in-kernel irqchip is a SKIP (without a sig, so --kvm=both does not compare
# it) when kvm-run reports that the KVM has none.
payload_check() {
	local name=$1 check=${2:-$1}
	if [ "$(cat /rig/payloads/$name/paging 2>/dev/null)" = shadow ] &&
	   ! kvm_shadow_paging; then
		result "$check" SKIP "checks shadow paging only (payloads-shadow, npt=0)"
		return 0
	fi
	if payload_run_compare "$name"; then
		result "$check" PASS "sig=$PAYLOAD_SIG"
		return 0
	fi
	if grep -qF "$KVM_NO_IRQCHIP_RE" $PAYLOAD_OUT.err 2>/dev/null; then
		result "$check" SKIP "needs the in-kernel irqchip (KVM_CAP_IRQCHIP), which this KVM does not offer"
		return 0
	fi
	payload_show_failure "$name"
	result "$check" FAIL "sig=$PAYLOAD_SIG $PAYLOAD_WHY"
	return 1
}

# requires THING...: SKIP this scenario's checks when the rig packed no such
# thing (rig.py decides pass/fail of missing build products on the host).
requires() {
	local t
	for t in "$@"; do
		case $t in
		kvm-run) command -v kvm-run >/dev/null || { result setup SKIP "kvm-run not in initramfs"; exit 0; } ;;
		payloads) [ -n "$(payload_list)" ] || { result setup SKIP "no payloads packed"; exit 0; } ;;
		qemu) command -v qemu-system-x86_64 >/dev/null || { result setup SKIP "qemu not packed"; exit 0; } ;;
		*) [ -e "$t" ] || { result setup SKIP "$t missing"; exit 0; } ;;
		esac
	done
}

# tap_prog_scenario PROG: all of a scenario that runs one TAP-like test
# program of tests/rig/progs (its lines "ok N - ..."/"not ok N - ...", exit
# status 0 when all passed) on the KVM: load it, run PROG (60 s at most),
# one check "rounds", unload, the kernel log.  (dirty-log, host-unmap)
tap_prog_scenario() {
	local out rc fails passes
	requires /rig/progs/$1
	dmesg_mark
	if ! load_kvm; then
		result load FAIL "could not load the $RIG_KVM KVM"
		exit 1
	fi
	out=$(timeout -k 2 60 /rig/progs/$1 2>&1)
	rc=$?
	echo "$out"
	fails=$(echo "$out" | grep -c '^not ok')
	passes=$(echo "$out" | grep -c '^ok')
	[ $rc -eq 0 ] && [ "$passes" -gt 0 ] && result rounds PASS "$passes checks" ||
		result rounds FAIL "exit $rc, $fails of $((passes + fails)) checks failed"
	check unload unload_kvm
	dmesg_check
}

# l0_svm_bug_since LINE: whether the kernel log after line LINE (take it with
# "dmesg | wc -l" before a boot) shows our kvm.ko stopping a guest because L0
# (QEMU 7.2's TCG SVM) left the host's own state in the VMCB save area after
# a #VMEXIT: the guest's state is lost, the boot proves nothing about either
# side (kernel/svm/svm.c, svm_handle_exit).  Prints those lines when so.
l0_svm_bug_since() {
	local lines
	lines=$(dmesg | tail -n +$(($1 + 1)) | grep -A3 'host state in the guest save area')
	[ -n "$lines" ] || return 1
	echo "rig: L0 bug: the VMCB save area held the host's state after #VMEXIT; this boot is retried once:"
	echo "$lines" | sed 's/^/l0| /'
	return 0
}

# run_dumping OUT ERR SECS COMMAND...: run COMMAND (kvm-run) with stdout to OUT
# and stderr to ERR under "timeout SECS"; when the guest prints "dump now" on
# OUT (irq_stress does after a failure, then waits), send kvm-run SIGUSR2 once
# so that every vCPU's registers and in-kernel LAPIC land in ERR.  Returns
# COMMAND's status.  Only one kvm-run may run meanwhile (it is found by name).
run_dumping() {
	local out=$1 err=$2 secs=$3 pid dumped=
	shift 3
	timeout -k 2 "$secs" "$@" <&- >"$out" 2>"$err" &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		if [ -z "$dumped" ] && grep -qs "dump now" "$out"; then
			kill -USR2 $(pidof kvm-run) 2>/dev/null
			dumped=yes
		fi
		sleep 1
	done
	wait $pid
}

# The same L0 bug under the reference (irq-stress.sh has the evidence): the
# distro's kvm_amd cannot tell, but its kvm:kvm_exit tracepoint shows it, a
# nested page fault "while walking the guest's page tables" (exit_info_1 bit
# 33) whose guest RIP lies in L1's own __svm_vcpu_run, i.e. where L1 was
# when L0 took the stray exit; L2 never runs there.
#   l0_trace_start   after load_kvm: records just those NPF exits (few: an
#                    L2's own page-table walks are the rest); a no-op on ours
#   l0_trace_mark    before a boot: forget what was recorded
#   l0_ref_bug_seen  whether an exit at __svm_vcpu_run came since the mark;
#                    prints the lines when so (like l0_svm_bug_since)
L0_TRACE=/sys/kernel/tracing
L0_VMRUN=
l0_trace_start() {
	L0_VMRUN=
	grep -qs '^kvm_amd ' /proc/modules || return 0
	mount -t tracefs nodev $L0_TRACE 2>/dev/null
	[ -d $L0_TRACE/events/kvm/kvm_exit ] || return 0
	L0_VMRUN=$(awk '$3 == "__svm_vcpu_run" { print $1; exit }' /proc/kallsyms)
	[ -n "$L0_VMRUN" ] || return 0
	echo 'exit_reason == 1024 && info1 & 0x200000000' >$L0_TRACE/events/kvm/kvm_exit/filter
	echo 1 >$L0_TRACE/events/kvm/kvm_exit/enable
}
l0_trace_mark() {
	[ -z "$L0_VMRUN" ] || echo >$L0_TRACE/trace
}
l0_ref_hits() {  # the recorded exits whose RIP is within 1 KiB after __svm_vcpu_run
	[ -n "$L0_VMRUN" ] || return 0
	# (hex compared in two 32-bit halves: awk's doubles lose the low bits)
	grep 'kvm_exit:' $L0_TRACE/trace | awk -v base=$L0_VMRUN '
		function hex(s,   i, v) { v = 0; s = tolower(s)
			for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v }
		{ r = ""
		  for (i = 1; i < NF; i++) if ($i == "rip") { r = $(i + 1); sub(/^0x/, "", r) }
		  if (length(r) == 16 && substr(r, 1, 8) == substr(base, 1, 8) &&
		      hex(substr(r, 9)) - hex(substr(base, 9)) >= 0 &&
		      hex(substr(r, 9)) - hex(substr(base, 9)) < 1024) print }'
}
l0_ref_bug_seen() {
	local lines
	lines=$(l0_ref_hits)
	[ -n "$lines" ] || return 1
	echo "rig: WARNING: L0 bug (reference): an NPF exit at L1's __svm_vcpu_run ($L0_VMRUN + <1 KiB): L0 overwrote the guest's state with L1's; this boot is retried once:"
	echo "$lines" | head -n 5 | sed 's/^/l0| /'
	return 0
}

# retry_early_l2_reset TAG BOOT_FN: an L2 that QEMU (-no-reboot) ended with
# exit 0 before it wrote its first console line (/tmp/l2.out empty) died in
# L0's early triple fault (the reference has it too, ~1 boot in 15-40: see
# qemu-smp.sh).  BOOT_FN (which sets $rc and writes /tmp/l2.out and
# /tmp/qemu.log) is then run once more, loudly, and $retried says so for the
# PASS detail; a second such end is the scenario's to fail.
retry_early_l2_reset() {
	retried=
	[ "$rc" -eq 0 ] && [ ! -s /tmp/l2.out ] || return 0
	echo "$1: RETRY: L2 reset before printing anything (qemu exit 0, empty console)"
	cat /tmp/qemu.log
	retried=" (retried after an early L2 reset)"
	"$2"
}

# mmubench_boot SECS COUNTS: Debian's QEMU (its own irqchip) boots L2 Linux
# once to run tests/rig/l2/mmubench.sh with COUNTS (its kernel parameters);
# the L2 console goes to /tmp/l2.out, QEMU's output to /tmp/qemu.log.
# Returns QEMU's status.  (shadow-bench, zz-shadow-exits)
# L2 runs as a generic guest (nopv) on both KVMs, so that what is compared
# is the shadow MMU: the reference offers KVM's paravirtual features (our
# module does not), and with kvmclock its L2 reads the time from memory
# where ours reads the HPET, an MMIO exit to QEMU each (zz-shadow-exits
# found 2,129 in the boot and 6,645 in the spawn loop).
mmubench_boot() {
	timeout -k 5 "$1" qemu-system-x86_64 -accel kvm -machine kernel_irqchip=off \
		-m 256 -display none -monitor none -vga none -nic none -no-reboot \
		-serial file:/tmp/l2.out \
		-kernel /rig/l2/vmlinuz -initrd /rig/l2/initrd.cpio \
		-append "console=ttyS0 quiet panic=-1 l2.cmd=mmubench nopv $2" \
		</dev/null >/tmp/qemu.log 2>&1
}

# thread_stacks PID: where each thread of a process (a VMM) is: its state,
# wait channel and kernel stack (in KVM_RUN, or blocked in the VMM itself?)
thread_stacks() {
	local t
	for t in /proc/$1/task/*; do
		echo "thread ${t##*/} $(cat $t/comm): state $(awk '{print $3}' $t/stat)," \
			"wchan $(cat $t/wchan 2>/dev/null)"
		sed 's/^/    /' $t/stack 2>/dev/null
	done
}
