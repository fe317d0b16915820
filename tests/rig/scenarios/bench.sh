# rig: default=no needs=kvm-run,progs/kvm_cap timeout=600
# Benchmarks (make bench): every payload of tests/guest/bench.ini under
# kvm-run on the chosen KVM. Each "bench <row> <hex cycles/op>" line it prints
# becomes a check "<payload>.<row>" with detail "value=<decimal>"; the check
# fails only when the payload did not run to its expected exit status or
# printed no rows (a broken bench), never on a number.  A payload that needs
# the in-kernel irqchip (bench_irq) is a SKIP on a KVM without one.
. /rig/lib.sh
requires kvm-run
[ -n "$(ls /rig/bench 2>/dev/null)" ] || { result setup FAIL "no bench payloads packed"; exit 1; }
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
result load PASS
# run_bench PAYLOAD [ROW-SUFFIX]: one payload, a check per row it prints
run_bench() {
	local p=$1 suffix=${2:-} d=/rig/bench/$1 out=/tmp/bench.$1.out args rc rows
	args=$(cat $d/args)
	timeout -k 2 "$RUN_TIMEOUT" kvm-run -kernel $d/image $args -nographic <&- >$out 2>$out.err
	rc=$?
	if grep -qF "$KVM_NO_IRQCHIP_RE" $out.err; then
		result "$p$suffix" SKIP "needs the in-kernel irqchip (KVM_CAP_IRQCHIP), which this KVM does not offer"
		return
	fi
	rows=0
	while read -r word row hex rest; do
		[ "$word" = bench ] || continue
		result "$p.$row$suffix" PASS "value=$((0x$hex))"
		rows=$((rows + 1))
	done <$out
	if [ $rc -ne "$(cat $d/exit)" ] || [ $rows -eq 0 ]; then
		cat $out $out.err
		result "$p$suffix" FAIL "kvm-run exit $rc (want $(cat $d/exit)), $rows rows"
	else
		result "$p$suffix" PASS "$rows rows"
	fi
}
for p in $(ls /rig/bench); do
	run_bench $p
done
# Firmware rows: milliseconds (L1 clock) from kvm-run's start to a boot sector that ends the
# run through debug-exit, with our BIOS and with SeaBIOS; best of three.  They need the
# in-kernel irqchip; without it the rows are skipped on that KVM.
firmware_ms() {  # BIOS -> best time in ms, or nothing when a run failed
	local best= i t0 t1 rc ms
	for i in 1 2 3; do
		t0=$(cut -d' ' -f1 /proc/uptime)
		timeout -k 2 "$RUN_TIMEOUT" kvm-run -m 64 -bios "$1" -hda /tmp/bootsector.img \
			-serial none -nographic <&- >/tmp/fw.out 2>&1
		rc=$?
		t1=$(cut -d' ' -f1 /proc/uptime)
		if [ $rc -ne 85 ]; then  # the story, with the firmware's serial output, to stderr
			{
				echo "kvm-run -bios $1: exit $rc (want 85); again with the serial port:"
				timeout -k 2 "$RUN_TIMEOUT" kvm-run -m 64 -bios "$1" -hda /tmp/bootsector.img \
					-nographic <&- 2>&1
				echo "(exit $?)"
			} >&2
			return 1
		fi
		ms=$(( (${t1%.*}${t1#*.} - ${t0%.*}${t0#*.}) * 10 ))
		[ -z "$best" ] || [ $ms -lt $best ] && best=$ms
	done
	echo $best
}
# mov al, 0x2a; out 0xf4, al; hlt; and the boot signature: kvm-run exits with (0x2a << 1) | 1.
dd if=/dev/zero of=/tmp/bootsector.img bs=1024 count=1024 2>/dev/null
printf '\260\052\346\364\364' | dd of=/tmp/bootsector.img conv=notrunc 2>/dev/null
printf '\125\252' | dd of=/tmp/bootsector.img bs=1 seek=510 conv=notrunc 2>/dev/null
for fw in ours-bios:/usr/share/kvm-run/bios.bin seabios:/rig/seabios.bin; do
	name=${fw%%:*} image=${fw#*:}
	if [ ! -e "$image" ]; then
		result "firmware.$name-ms" SKIP "$image not packed"
	elif [ "$(/rig/progs/kvm_cap 0 2>/dev/null)" = 0 ]; then
		result "firmware.$name-ms" SKIP "needs KVM_CAP_IRQCHIP (irqchip=1 for ours)"
	elif ms=$(firmware_ms "$image"); then
		result "firmware.$name-ms" PASS "value=$ms"
	else
		result "firmware.$name-ms" FAIL "the boot sector did not run"
	fi
done
check unload unload_kvm
# Our shadow MMU (npt=0): the address-space switch again without the
# shadow page cache, for the cached/uncached ratio.
case " $RIG_MODARGS " in
*" npt=0 "*)
	if [ "$RIG_KVM" = ours ] && [ -d /rig/bench/bench_cr3switch ]; then
		if load_kvm ours $RIG_MODARGS shadow_cache=0; then
			run_bench bench_cr3switch _nocache
			check unload-nocache unload_kvm
		else
			result load-nocache FAIL "could not load ours with shadow_cache=0"
		fi
	fi
	;;
esac
