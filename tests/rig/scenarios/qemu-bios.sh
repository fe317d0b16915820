# rig: default=yes needs=qemu,disk,bios timeout=420 accel=tcg,thread=single
# Our BIOS (build/bios/bios.bin, packed as /usr/share/kvm-run/bios.bin)
# under Debian's QEMU on the chosen KVM,
# the real i440FX/PIIX3/IDE machine:
#  1. bios/test/disk.asm's test disk: int 10h/13h/15h/1Ah services, $PIR,
#     and the sectors it writes through int 13h AH=43h and AH=03h are in
#     the image file;
#  2. the scripts/mkimage disk (make image): our banner, extlinux's boot:
#     prompt, Linux, whose init mounts the partition through ata_piix,
#     appends line N to /disk-test.txt and powers off; a second boot finds
#     that line (so it reached the image file) and writes line N+1.
# L0 runs single-threaded TCG here (accel= above): under its multi-threaded
# TCG, L0's stray #VMEXIT (irq-stress.sh, lib.sh l0_svm_bug_since) hit about
# one run in three on ours, in the BIOS's int 13h loads; single-threaded,
# ours passed 3 of 3 runs and the reference 2 of 2 (63-68 s each, as fast
# as before: the L2 has one vCPU).  The retry below stays for either KVM.
# A later default-set run failed on ours (Linux stuck at 0.22 s in an IRQ
# handler with IF=0; the next boot's BIOS ran off into zeros): L0 delivered
# an injected interrupt a second time, now prevented by kvm.ko's intr_exit
# (zz-qemu-bios-loop: ours failed boot 8 before it, 30 of 30 boots passed
# with it; zz-irq-once shows the L0 behaviour).  Since: ours passed 5 of
# 5 runs (21:33-22:20), the reference 1 of 1 (21:33), 76-112 s each (the
# slower ones on a busier host).
# QEMU uses its own interrupt controllers (kernel_irqchip=off), so the same
# run works on ours without irqchip=1, and no VGA: in L2 under TCG every
# text-buffer write is an MMIO exit, which made POST take minutes.
. /rig/lib.sh
BIOS=/usr/share/kvm-run/bios.bin
requires qemu $BIOS /rig/disk/disk.img /rig/disk/biostest.img
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi

qemu_bios() {  # SECONDS OUTFILE DISK EXTRA...
	local limit=$1 out=$2 disk=$3
	shift 3
	local rc pid i
	# The monitor reads a fifo: a guest still running after SECONDS gets its
	# registers dumped into /tmp/qemu.log (where it stalled: the BIOS's F
	# segment, the boot loader, Linux) before QEMU is told to quit.
	rm -f /tmp/qmon.in
	mkfifo /tmp/qmon.in
	qemu-system-x86_64 -accel kvm -machine kernel_irqchip=off \
		-bios $BIOS -display none -vga none -monitor stdio -nic none -no-reboot \
		-serial "file:$out.raw" -drive "file=$disk,format=raw,if=ide" "$@" \
		</tmp/qmon.in >/tmp/qemu.log 2>&1 &
	pid=$!
	exec 5>/tmp/qmon.in
	i=0
	# (QEMU stops a guest whose KVM reports an internal error and waits:
	# no use waiting with it.)
	while kill -0 $pid 2>/dev/null && [ $i -lt $((limit * 10)) ] &&
	      ! grep -q 'KVM internal error' /tmp/qemu.log; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 $pid 2>/dev/null; then
		echo "--- QEMU still running after $((i / 10)) s: its registers" >>/tmp/qemu.log
		printf 'info registers\n' >&5
		sleep 3
		printf 'quit\n' >&5
		sleep 3
		kill -9 $pid 2>/dev/null
		wait $pid
		rc=124
	else
		wait $pid
		rc=$?
	fi
	exec 5>&-
	rm -f /tmp/qmon.in
	tr -d '\r' <"$out.raw" >"$out"   # the guest's tty ends lines in CR LF
	return $rc
}

# qemu_bios_once_more SECONDS OUTFILE DISK EXTRA...: qemu_bios, and once more
# when L0's SVM bug (lib.sh, l0_svm_bug_since) spoilt the first boot (then
# L0_RETRIED=1: the spoilt boot may have written its line already).
qemu_bios_once_more() {
	local mark rc
	mark=$(dmesg | wc -l)
	qemu_bios "$@"
	rc=$?
	l0_svm_bug_since $mark || return $rc
	L0_RETRIED=1
	qemu_bios "$@"
}

show() {  # OUTFILE RC
	echo "--- qemu exit $2; stderr and monitor:"
	tr -d '\r' </tmp/qemu.log | sed 's/\x1b\[[0-9;]*[A-Za-z]//g'
	echo "--- guest console (tail):"
	tail -n 40 "$1"
}

# 1. the BIOS test disk
qemu_bios_once_more 60 /tmp/bt.out /rig/disk/biostest.img -m 64 \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
rc=$?
written=$(dd if=/rig/disk/biostest.img bs=512 skip=40 count=1 2>/dev/null | tr -d W | wc -c)
chs=$(dd if=/rig/disk/biostest.img bs=512 skip=41 count=2 2>/dev/null | tr -d C | wc -c)
if [ $rc -eq 1 ] && grep -q '^BIOSTEST PASS' /tmp/bt.out && [ "$written" -eq 0 ] &&
   [ "$chs" -eq 0 ]; then
	result bios-services PASS "sig=$(grep -c '^BIOSTEST ok' /tmp/bt.out)-checks"
else
	show /tmp/bt.out $rc
	result bios-services FAIL "exit $rc, $(grep '^BIOSTEST FAIL' /tmp/bt.out), sector 40 has $written bytes not written (AH=43h), 41-42 $chs (AH=03h)"
fi

# 2. BIOS -> extlinux -> Linux -> ata_piix, twice
first=
for n in 1 2; do
	start=$(date +%s)
	qemu_bios_once_more 120 /tmp/l2-$n.out /rig/disk/disk.img -m 256
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $n -eq 1 ]; then
		grep -q 'kvm-run BIOS' /tmp/l2-1.out && result banner PASS || result banner FAIL "no BIOS banner"
		grep -q 'boot:' /tmp/l2-1.out && result extlinux-prompt PASS ||
			result extlinux-prompt FAIL "no boot: prompt"
		grep -q 'ata_piix' /tmp/l2-1.out && result ata-piix PASS ||
			result ata-piix FAIL "the guest kernel did not bind ata_piix"
	fi
	line=$(sed -n 's/^DISK-TEST wrote \/disk-test.txt line \([0-9]*\)$/\1/p' /tmp/l2-$n.out)
	[ $n -eq 1 ] && first=$line
	if [ $rc -eq 0 ] && [ -n "$line" ] && grep -q '^DISK-DONE' /tmp/l2-$n.out &&
	   { [ $n -eq 1 ] || [ "$line" = $((first + 1)) ] ||
	     { [ -n "$L0_RETRIED" ] && [ "$line" -gt "$first" ]; }; }; then
		result linux-disk-write-$n PASS "${secs}s line $line"
	else
		show /tmp/l2-$n.out $rc
		result linux-disk-write-$n FAIL "exit $rc: $(grep '^DISK-TEST wrote\|^DISK-FAIL' /tmp/l2-$n.out)"
	fi
done
check unload unload_kvm
dmesg_check
