# rig: default=no needs=kvm-run,disk,bios timeout=880
# Investigation of disk-boot's AP bring-up on a machine reset: one kvm-run
# (-smp 2 -hda, our BIOS) boots Linux twice, disk.loops times (default 5):
#   1. the extlinux "shell" label (nokaslr: L2's kernel RIPs are L1's, so
#      they are looked up in /proc/kallsyms here); the guest's shell runs
#      "reboot -f", which resets the machine (kvm-run then creates a fresh
#      VM in the same process);
#   2. the "write" label in that fresh VM: the usual disk-boot write boot.
# Both boots must bring up 2 CPUs (DISK-INIT ... nproc=2).  A failed loop
# shows the console's CPU lines and tail, kvm-run's stderr, the kernel
# lines logged meanwhile and every kernel-text RIP in them as a symbol.
#
# Found (21:00-21:35 runs, 9 loops): 3 of 10 boots after a reset had no
# AP (do_boot_cpu failed(-1)), the AP looping in real mode at the BIOS's
# default interrupt handler (a bare IRET); the INIT/SIPI log showed why: the BIOS's second SIPI reached
# the AP after it had started and halted, stayed latched, and Linux's INIT
# took it ("vcpu 1 takes INIT SIPI (vector 08)").  With the LAPIC fix (an
# INIT drops a SIPI latched before it), 3 of 3 loops passed at 21:46, one
# of them with exactly that stale SIPI, dropped at Linux's INIT.  Also 2
# triple faults in about 25 boots (see README, disk-boot).
. /rig/lib.sh
requires kvm-run /rig/disk/disk.img /usr/share/kvm-run/bios.bin
dmesg_mark
load_kvm || { result load FAIL "could not load"; exit 1; }
# our kvm.ko's INIT/SIPI lines (pr_debug in irq.c) into the kernel log
mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ $RIG_KVM = ours ] && echo 'module kvm file irq.c +p' >/sys/kernel/debug/dynamic_debug/control
loops=$(cmdline_get disk.loops 5)
limit=$(cmdline_get disk.limit 200)
CR=$(printf '\r')
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# syms: every kernel-text address in stdin (ffffffff8 and 7 more hex
# digits), as symbol+offset (L1's kallsyms)
syms() {
	grep -oE 'ffffffff8[0-9a-f]{7}' | sort -u | while read -r a; do
		awk -v a=$a '
			function hex(s,   i, v) { v = 0; s = tolower(s)
				for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
				return v }
			BEGIN { t = hex(substr(a, 9)) }
			substr($1, 1, 8) == "ffffffff" && $2 ~ /^[tTwW]$/ {
				v = hex(substr($1, 9))
				if (v <= t && v > best) { best = v; name = $3 }
			}
			END { printf "sym| %s = %s+0x%x\n", a, name, t - best }' /proc/kallsyms
	done
}

count() { grep -cE "$1" /tmp/rl.out; }
# type_line LABEL: "LABEL noxsave nokaslr" at the boot: prompt, in two
# pieces: the BIOS's keyboard ring holds 15 keys
type_line() {
	printf '%s noxsave' "$1" >&4
	sleep 1
	printf ' nokaslr\r' >&4
}

i=0 pass=0
while [ $i -lt $loops ]; do
	i=$((i + 1))
	m0=$(dmesg | wc -l)
	cp /rig/disk/disk.img /tmp/rl.img
	rm -f /tmp/rl.in /tmp/rl.raw /tmp/rl.out /tmp/rl.err /tmp/rl.pid /tmp/rl.rc
	mkfifo /tmp/rl.in
	touch /tmp/rl.raw /tmp/rl.out
	b0=$(ms)
	(
		kvm-run -m 256 -smp 2 -hda /tmp/rl.img -nographic \
			-debugcon file:/tmp/rl.dbg </tmp/rl.in 2>/tmp/rl.err &
		echo $! >/tmp/rl.pid
		wait $!
		echo $? >/tmp/rl.rc
	) | cat >/tmp/rl.raw &
	pipe=$!
	while [ ! -s /tmp/rl.pid ]; do sleep 0.1; done
	pid=$(cat /tmp/rl.pid)
	exec 4>/tmp/rl.in
	stage=0 why= dumped=
	while kill -0 $pid 2>/dev/null; do
		sleep 0.5
		tr -d "$CR" </tmp/rl.raw >/tmp/rl.out 2>/dev/null
		prompts=$(count '(^|[^a-z])boot:')
		case $stage in
		0) [ "$prompts" -ge 1 ] && { type_line shell; stage=1; } ;;
		1) if grep -q 'DISK-TEST shell:' /tmp/rl.out; then
			sleep 1
			printf 'reboot -f\r' >&4
			stage=2
		   fi ;;
		2) [ "$prompts" -ge 2 ] && { type_line write; stage=3; } ;;
		3) grep -q 'DISK-DONE' /tmp/rl.out && { stage=4; break; } ;;
		esac
		# an AP that did not wake: kvm-run prints the vCPUs' state
		case $stage:$dumped in
		[123]:) grep -q 'do_boot_cpu failed' /tmp/rl.out && { kill -USR2 $pid; dumped=1; } ;;
		esac
		# a triple fault resets the machine too: the next prompt comes
		[ $stage -le 1 ] && [ "$prompts" -ge 2 ] && { type_line write; stage=3; why="first boot reset itself"; }
		[ $(($(ms) - b0)) -gt $((limit * 1000)) ] && { why="over ${limit}s at stage $stage"; break; }
	done
	d=$(($(ms) - b0))
	if kill -0 $pid 2>/dev/null && [ $stage != 4 ]; then
		kill -USR2 $pid
		sleep 3
	fi
	j=0
	while kill -0 $pid 2>/dev/null && [ $j -lt 100 ]; do sleep 0.1; j=$((j + 1)); done
	kill -TERM $pid 2>/dev/null
	sleep 1
	kill -KILL $pid 2>/dev/null
	exec 4>&-
	wait $pipe
	rc=$(cat /tmp/rl.rc 2>/dev/null || echo none)
	tr -d "$CR" </tmp/rl.raw >/tmp/rl.out 2>/dev/null
	n2=$(count 'DISK-INIT cmd=[a-z]+ nproc=2 ')
	grep -E 'DISK-INIT|smpboot: (do_boot|.*fail)|smp: Brought up|CPU[0-9]+ (failed|is stuck)|CPUs: only' \
		/tmp/rl.out | sed "s/^/loop$i| /"
	if [ $stage = 4 ] && [ -z "$why" ] && [ "$n2" = 2 ] && [ "$rc" = 0 ] &&
	   grep -q 'DISK-TEST wrote /disk-test.txt line 1' /tmp/rl.out; then
		pass=$((pass + 1))
		result "loop$i" PASS "${d}ms"
	else
		echo "--- loop $i: stage $stage ${why:+($why) }status $rc, $n2 boots with 2 CPUs; stderr:"
		sed 's/^/err| /' /tmp/rl.err
		echo "--- console (tail):"
		tail -n 40 /tmp/rl.out | sed 's/^/con| /'
		echo "--- kernel:"
		dmesg | tail -n +$((m0 + 1)) | tee /tmp/rl.kmsg
		echo "--- symbols:"
		cat /tmp/rl.kmsg /tmp/rl.err /tmp/rl.out | syms
		result "loop$i" FAIL "stage $stage ${why:+($why) }status $rc, $n2 of 2 boots with 2 CPUs, ${d}ms"
	fi
done
echo "disk reset loop: $pass of $loops loops passed"
check unload unload_kvm
dmesg_check
