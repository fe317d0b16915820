# rig: default=yes needs=kvm-run,l2linux,progs/kvm_cap timeout=480
# kvm-run boots the distro Linux (L2) directly (-kernel bzImage -initrd),
# with the in-kernel irqchip and PIT of the chosen KVM:
#   boot A  -smp 1: init runs (nproc 1), `sleep 2` takes 2 s +- 20 % by the
#           L1 clock, a line typed on the serial console comes back, and
#           `poweroff -f` ends kvm-run with status 0
#   boot B  -smp 2: init sees 2 CPUs, poweroff ends kvm-run with status 0
#   boot C  `reboot -f` with -no-reboot ends kvm-run with status 0 (console
#           in a -serial file)
#   boot D  `reboot -f` without it restarts the guest, through the i8042's
#           reset line (reboot=k; C goes through the ACPI reset register);
#           SIGTERM then stops kvm-run with status 143
#   boot E  -smp 2: Ctrl-A x typed on the console ends kvm-run with status 0
# A KVM without KVM_CAP_IRQCHIP (asked at run time) skips them all, and
# kvm-run must refuse such a boot with a one-line reason and status 3.
. /rig/lib.sh
requires kvm-run /rig/l2/vmlinuz /rig/progs/kvm_cap
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi

KERNEL=/rig/l2/vmlinuz
INITRD=/rig/l2/initrd.cpio
# noxsave: under L0's TCG the nested guest's XSETBV does not reach L1's KVM,
# so KVM's idea of L2's XCR0 goes stale (L2 warns "XSAVE consistency
# problem", with QEMU -cpu host too) and loads that stale XCR0 on every
# entry; now and then an AP of L2 then triple-faults (and L1 itself can
# freeze).  With FXSAVE only, L2 never touches XCR0.
APPEND="console=ttyS0 quiet noxsave panic=-1"
L2_TIMEOUT=120
CR=$(printf '\r')

now() { cut -d' ' -f1 /proc/uptime; }

# Each console line, prefixed with the L1 uptime at which it arrived.
stamp() {
	local l
	while IFS= read -r l || [ -n "$l" ]; do
		echo "$(now) ${l%$CR}"
	done
}

# l2_start NAME SMP CMD [kvm-run args...]: boots L2 in the background.
# Console -> /tmp/NAME.out (stamped), stderr -> /tmp/NAME.err, status ->
# /tmp/NAME.rc; the console's input is the fifo /tmp/NAME.in, open on fd 4.
l2_start() {
	local name=$1 smp=$2 cmd=$3
	shift 3
	rm -f /tmp/$name.*
	mkfifo /tmp/$name.in
	(
		timeout -k 2 $L2_TIMEOUT kvm-run -name l2 -m 256 -smp $smp -kernel $KERNEL \
			-initrd $INITRD -append "$APPEND ${L2_APPEND:-}l2.cmd=$cmd" -nographic "$@" \
			</tmp/$name.in 2>/tmp/$name.err
		echo $? >/tmp/$name.rc
	) | stamp >/tmp/$name.out &
	L2_PIPE=$!
	exec 4>/tmp/$name.in
	L2_NAME=$name
	L2_T0=$(now)
}

# l2_wait PATTERN [SECONDS] [COUNT]: until COUNT (default 1) console lines
# match PATTERN (a grep -E expression for the text after the stamp) or
# kvm-run ends.  Prints the stamp of the last match; fails if none.
l2_wait() {
	local pat=$1 secs=${2:-$L2_TIMEOUT} count=${3:-1} i=0 n ended=
	while :; do
		# once kvm-run has ended, give the stamping pipeline a moment, then look a last time
		[ -e /tmp/$L2_NAME.rc ] && { ended=1; sleep 0.3; }
		n=$(grep -cE "^[0-9.]+ $pat" /tmp/$L2_NAME.out)
		if [ "$n" -ge "$count" ]; then
			grep -E "^[0-9.]+ $pat" /tmp/$L2_NAME.out | sed -n "${count}p" | cut -d' ' -f1
			return 0
		fi
		[ -n "$ended" ] && return 1
		i=$((i + 1))
		[ $i -gt $((secs * 20)) ] && return 1
		sleep 0.05
	done
}

# l2_end: waits for kvm-run and the stamping pipeline; sets rc to kvm-run's status.
# (Not in a $(...) subshell: wait only knows the children of this shell.)
l2_end() {
	exec 4>&-
	wait $L2_PIPE
	rc=$(cat /tmp/$L2_NAME.rc 2>/dev/null || echo none)
}

l2_show() {  # what a human needs when a check of this boot failed
	echo "--- L2 boot $L2_NAME: kvm-run status $(cat /tmp/$L2_NAME.rc 2>/dev/null); stderr:"
	sed 's/^/L2err| /' /tmp/$L2_NAME.err
	echo "--- L2 console (L1 uptime, line), last 40 lines:"
	tail -n 40 /tmp/$L2_NAME.out | sed 's/^/L2| /'
}

secs_between() { awk "BEGIN { printf \"%.2f\", $2 - $1 }"; }

# l2_boot NAME SMP CMD [kvm-run args...]: l2_start, then wait for init;
# INIT_T is the stamp of its L2-INIT line (empty if none).  A boot whose
# guest triple-faults before init is retried once, loudly (a WARNING line,
# and RETRY_NOTE in the checks' details): about one 2-vCPU boot in 40 does
# that on the reference, even with noxsave.  The cause is open: Debian's
# QEMU (-cpu host, same kernel) had none in 38 such boots, so kvm-run is
# not cleared; the retry keeps make test usable, the WARNING keeps the
# problem visible, and a kvm-run bug that breaks boots fails the retry.
# A boot that printed nothing at all by then is retried the same way (the
# reference once hung so in make test, in boot D).
l2_boot() {
	RETRY_NOTE=
	l2_start "$@"
	INIT_T=$(l2_wait 'L2-INIT nproc=[0-9]+$') && return 0
	if { [ -e /tmp/$1.rc ] && grep -q 'triple fault' /tmp/$1.err; } || [ ! -s /tmp/$1.out ]; then
		kill -KILL $(pidof kvm-run) 2>/dev/null
		l2_end
		why="triple-faulted before init"
		grep -q 'triple fault' /tmp/$1.err || why="printed nothing"
		echo "rig: WARNING: L2 boot $1 $why; retrying it once"
		sed 's/^/L2err| /' /tmp/$1.err
		RETRY_NOTE=" (retried: the first boot $why)"
		l2_start "$@"
		INIT_T=$(l2_wait 'L2-INIT nproc=[0-9]+$') && return 0
	fi
	INIT_T=
	return 1
}

irqchip=$(kvm_cap 0)
if [ "$irqchip" = 0 ]; then
	why="needs KVM_CAP_IRQCHIP"
	timeout -k 2 30 kvm-run -m 256 -kernel $KERNEL -initrd $INITRD -append "$APPEND" \
		-nographic </dev/null >/tmp/noirq.out 2>/tmp/noirq.err
	rc=$?
	if [ $rc -eq 3 ] && [ "$(wc -l </tmp/noirq.err)" -eq 1 ] &&
		grep -q 'KVM_CAP_IRQCHIP' /tmp/noirq.err; then
		result refuses-without-irqchip PASS "$(cat /tmp/noirq.err)"
	else
		cat /tmp/noirq.err
		result refuses-without-irqchip FAIL "status $rc, want 3 and one line naming KVM_CAP_IRQCHIP"
	fi
	for c in smp1-boot sleep-2s console-input smp1-poweroff smp2-boot smp2-poweroff \
		reboot-no-reboot reboot-restarts sigterm-stops ctrl-a-x; do
		result $c SKIP "$why"
	done
	check unload unload_kvm
	dmesg_check
	exit 0
fi
[ -n "$irqchip" ] || { result setup FAIL "kvm_cap failed"; exit 1; }

# ---- boot A: -smp 1, sleep timing, console input, poweroff
l2_boot a 1 linux-console -no-reboot
failed=
if [ -n "$INIT_T" ] && grep -q ' L2-INIT nproc=1$' /tmp/a.out; then
	result smp1-boot PASS "init after $(secs_between $L2_T0 $INIT_T)s$RETRY_NOTE"
else
	result smp1-boot FAIL "no 'L2-INIT nproc=1'$RETRY_NOTE"; failed=1
fi
if t1=$(l2_wait 'L2-SLEEP-BEGIN' 30) && t2=$(l2_wait 'L2-SLEEP-END' 30); then
	d=$(secs_between $t1 $t2)
	if awk "BEGIN { exit !($d >= 1.6 && $d <= 2.4) }"; then
		result sleep-2s PASS "sleep 2 took ${d}s"
	else
		result sleep-2s FAIL "sleep 2 took ${d}s, want 1.6..2.4"; failed=1
	fi
else
	result sleep-2s FAIL "no L2-SLEEP-BEGIN/END"; failed=1
fi
word="typed-in-L1-$$"
if l2_wait 'L2-READY-FOR-INPUT' 30 >/dev/null; then
	echo "$word" >&4
	if l2_wait "L2-GOT <$word>" 20 >/dev/null; then
		result console-input PASS
	else
		result console-input FAIL "the guest did not read back '$word'"; failed=1
	fi
else
	result console-input FAIL "no L2-READY-FOR-INPUT"; failed=1
fi
l2_wait 'L2-DONE' 30 >/dev/null
l2_end
if [ "$rc" = 0 ] && grep -q ' L2-DONE' /tmp/a.out && [ ! -s /tmp/a.err ]; then
	result smp1-poweroff PASS "sig=exit=$rc"
else
	result smp1-poweroff FAIL "kvm-run status $rc after poweroff -f, want 0 and no messages"
	failed=1
fi
[ -n "$failed" ] && l2_show

# ---- boot B: -smp 2
l2_boot b 2 none -no-reboot
failed=
if [ -n "$INIT_T" ]; then
	n=$(grep -E '^[0-9.]+ L2-INIT' /tmp/b.out | sed 's/.*nproc=//')
	if [ "$n" = 2 ]; then
		result smp2-boot PASS "init after $(secs_between $L2_T0 $INIT_T)s, nproc=2$RETRY_NOTE"
	else
		result smp2-boot FAIL "nproc=$n, want 2"; failed=1
	fi
else
	result smp2-boot FAIL "no L2-INIT line$RETRY_NOTE"; failed=1
fi
l2_wait 'L2-DONE' 30 >/dev/null
l2_end
if [ "$rc" = 0 ] && grep -q ' L2-DONE' /tmp/b.out && [ ! -s /tmp/b.err ]; then
	result smp2-poweroff PASS "sig=exit=$rc"
else
	result smp2-poweroff FAIL "kvm-run status $rc after poweroff -f, want 0 and no messages"
	failed=1
fi
[ -n "$failed" ] && l2_show

# ---- boot C: reboot with -no-reboot (and the console in a file)
l2_start c 1 linux-reboot -no-reboot -serial file:/tmp/c.serial
l2_end
inits=$(grep -c '^L2-INIT' /tmp/c.serial)
if [ "$rc" = 0 ] && [ "$inits" = 1 ] && grep -q '^L2-REBOOTING' /tmp/c.serial &&
	[ ! -s /tmp/c.err ]; then
	result reboot-no-reboot PASS "sig=exit=$rc"
else
	result reboot-no-reboot FAIL "status $rc, $inits boots in the -serial file, want 0, 1 and no messages"
	l2_show
	tail -n 20 /tmp/c.serial | sed 's/^/L2file| /'
fi

# ---- boot D: reboot (by the keyboard controller) restarts the guest; SIGTERM
# stops kvm-run.  Had the i8042 reset failed, Linux would fall back to a
# triple fault, which the check rules out.
# A triple fault is also how the known early-boot failure under L0 shows
# (see l2_boot), so one such boot is retried, loudly, as l2_boot does; so
# is one that printed nothing at all (the reference once hung so in make
# test, after boots A-C had passed).
reboot_d() {
	L2_APPEND="reboot=k " l2_start d 1 linux-reboot
	l2_wait 'L2-INIT' $L2_TIMEOUT 2 >/dev/null && [ "$(grep -c ' L2-REBOOTING' /tmp/d.out)" -ge 1 ] &&
		! grep -q 'triple fault' /tmp/d.err
}
RETRY_NOTE=
reboot_d; d_ok=$?
if [ $d_ok -ne 0 ] && { grep -q 'triple fault' /tmp/d.err || [ ! -s /tmp/d.out ]; }; then
	kill -KILL $(pidof kvm-run) 2>/dev/null
	l2_end
	why="triple-faulted"
	grep -q 'triple fault' /tmp/d.err || why="printed nothing"
	echo "rig: WARNING: L2 boot d $why; retrying it once"
	sed 's/^/L2err| /' /tmp/d.err
	RETRY_NOTE=" (retried: the first run $why)"
	reboot_d; d_ok=$?
fi
if [ $d_ok -eq 0 ]; then
	result reboot-restarts PASS "$RETRY_NOTE"
	kill -TERM $(pidof kvm-run)
	l2_end
	if [ "$rc" = 143 ]; then
		result sigterm-stops PASS "sig=exit=$rc"
	else
		result sigterm-stops FAIL "status $rc after SIGTERM, want 143"
		l2_show
	fi
else
	result reboot-restarts FAIL "no second L2-INIT after L2-REBOOTING (or a triple fault)$RETRY_NOTE"
	result sigterm-stops SKIP "no running guest to stop"
	kill -KILL $(pidof kvm-run) 2>/dev/null
	l2_end
	l2_show
fi

# ---- boot E: -smp 2 again; Ctrl-A x on the console ends kvm-run (status 0)
l2_boot e 2 linux-console -no-reboot
if [ -n "$INIT_T" ] && l2_wait 'L2-READY-FOR-INPUT' >/dev/null; then
	printf '\001x' >&4
	l2_end
	if [ "$rc" = 0 ] && ! grep -q ' L2-GOT' /tmp/e.out && ! grep -q ' L2-DONE' /tmp/e.out; then
		result ctrl-a-x PASS "sig=exit=$rc$RETRY_NOTE"
	else
		result ctrl-a-x FAIL "status $rc, want 0 before the guest read anything"
		l2_show
	fi
else
	result ctrl-a-x FAIL "no L2-READY-FOR-INPUT$RETRY_NOTE"
	kill -KILL $(pidof kvm-run) 2>/dev/null
	l2_end
	l2_show
fi

check unload unload_kvm
dmesg_check
