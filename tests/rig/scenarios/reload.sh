# rig: default=yes needs=kvm-run,payloads timeout=600
# Load the module, run one payload, unload; ten times.  Every cycle must
# leave nothing behind (the module really goes, /dev/kvm disappears), the
# payload must give the same right answer every time, and the kernel log
# must stay clean.  Three checks: lifecycle, payload-runs, dmesg-clean.
. /rig/lib.sh
requires kvm-run payloads
CYCLES=${CYCLES:-10}
p=$(cat /rig/payload.default)
dmesg_mark
life_fail="" run_ok=0 run_fail=0 first_why="" hung=0
i=1
while [ $i -le $CYCLES ]; do
	if ! load_kvm; then
		life_fail="load failed in cycle $i"; break
	fi
	if [ $hung -eq 0 ]; then
		if payload_run_compare "$p"; then
			run_ok=$((run_ok + 1))
		else
			run_fail=$((run_fail + 1))
			if [ -z "$first_why" ]; then
				first_why="cycle $i: $PAYLOAD_WHY"
				payload_show_failure "$p"
			fi
			# a hung payload would cost the timeout every cycle; keep
			# cycling the module without it
			case $PAYLOAD_RC in 124|137|143) hung=1 ;; esac
		fi
	fi
	if ! unload_kvm; then
		lsmod
		life_fail="unload failed in cycle $i"; break
	fi
	i=$((i + 1))
done
if [ -z "$life_fail" ]; then
	result lifecycle PASS "$CYCLES load/run/unload cycles"
else
	result lifecycle FAIL "$life_fail"
fi
if [ $run_fail -eq 0 ] && [ $run_ok -gt 0 ]; then
	result payload-runs PASS "$p matched guests.ini $run_ok times"
else
	result payload-runs FAIL "$p: $run_ok matched, $run_fail did not; first: $first_why"
fi
dmesg_check
