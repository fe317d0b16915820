# rig: default=yes needs=kvm-run,l2linux,progs/kvm_cap timeout=420
# kvm-run's PIIX3 IDE as Linux sees it: the distro Linux (L2), booted
# directly, loads ata_piix and sd_mod from its initramfs and uses
# `kvm-run -hda disk.img` as /dev/sda:
#   dma  default libata settings (bus-master DMA, MWDMA2 on a PIIX3): the
#        whole disk reads back with the checksum L1 computed, 1 MiB written
#        with fsync lands in the image file (L1 checks it after kvm-run
#        exits) and reads back past the page cache; no ATA errors
#   pio  the same with libata.dma=0 (PIO, READ/WRITE MULTIPLE)
# and kvm-run refuses a missing or unusable image with one line, status 3.
# A KVM without KVM_CAP_IRQCHIP skips the boots (kvm-run needs it for Linux).
. /rig/lib.sh
requires kvm-run /rig/l2/vmlinuz /rig/progs/kvm_cap
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi

KERNEL=/rig/l2/vmlinuz
INITRD=/rig/l2/initrd.cpio
APPEND="console=ttyS0 quiet noxsave panic=-1 l2.cmd=ide"
IMG=/tmp/disk.img

# ---- refusals: before any guest runs, one line each, status 3
refuse() {  # NAME WANT-SUBSTRING kvm-run args...
	local name=$1 want=$2
	shift 2
	timeout -k 2 30 kvm-run -m 256 -kernel $KERNEL "$@" -nographic </dev/null >/tmp/refuse.out 2>/tmp/refuse.err
	local rc=$?
	if [ $rc -eq 3 ] && [ "$(wc -l </tmp/refuse.err)" -eq 1 ] && grep -q -- "$want" /tmp/refuse.err; then
		result $name PASS "$(cat /tmp/refuse.err)"
	else
		cat /tmp/refuse.err
		result $name FAIL "status $rc, want 3 and one line with '$want'"
	fi
}
refuse refuses-missing-image "No such file or directory" -hda /tmp/no-such.img
: >/tmp/empty.img
refuse refuses-empty-image "empty" -hda /tmp/empty.img
dd if=/dev/zero of=/tmp/odd.img bs=1000 count=1 2>/dev/null
refuse refuses-odd-size "512-byte sectors" -hda /tmp/odd.img

irqchip=$(kvm_cap 0)
if [ "$irqchip" = 0 ]; then
	for mode in dma pio; do
		for c in driver read write reread no-errors transfer-mode poweroff; do
			result $mode-$c SKIP "needs KVM_CAP_IRQCHIP"
		done
	done
	check unload unload_kvm
	dmesg_check
	exit 0
fi
[ -n "$irqchip" ] || { result setup FAIL "kvm_cap failed"; exit 1; }

dd if=/dev/urandom of=$IMG bs=1M count=8 2>/dev/null
want_sectors=16384

for mode in dma pio; do
	extra=
	[ $mode = pio ] && extra=" libata.dma=0"
	before=$(md5sum <$IMG | cut -d' ' -f1)
	t0=$(date +%s)
	timeout -k 2 240 kvm-run -name l2 -m 256 -kernel $KERNEL -initrd $INITRD \
		-append "$APPEND$extra" -hda $IMG -nographic -no-reboot \
		</dev/null >/tmp/$mode.out 2>/tmp/$mode.err
	rc=$?
	secs=$(( $(date +%s) - t0 ))
	field() { sed -n "s/^$1 \\([^ \\r]*\\).*/\\1/p" /tmp/$mode.out | tr -d '\r' | head -n 1; }
	failed=
	drv=$(field L2-IDE-DRIVER)
	n=$(field L2-IDE-SECTORS)
	if [ "$drv" = ata_piix ] && [ "$n" = $want_sectors ]; then
		result $mode-driver PASS "ata_piix, $n sectors, ${secs}s"
	else
		result $mode-driver FAIL "driver '$drv', sectors '$n' (want ata_piix, $want_sectors)"; failed=1
	fi
	if [ "$(field L2-IDE-MD5)" = "$before" ]; then
		result $mode-read PASS "whole disk md5 matches"
	else
		result $mode-read FAIL "L2 read md5 '$(field L2-IDE-MD5)', image has $before"; failed=1
	fi
	wrote=$(field L2-IDE-WROTE)
	host=$(dd if=$IMG bs=64k skip=64 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	if [ -n "$wrote" ] && [ "$wrote" = "$host" ]; then
		result $mode-write PASS "1 MiB at 4 MiB reached the image"
	else
		result $mode-write FAIL "L2 wrote '$wrote', the image has '$host'"; failed=1
	fi
	if [ -n "$wrote" ] && [ "$(field L2-IDE-REREAD)" = "$wrote" ]; then
		result $mode-reread PASS
	else
		result $mode-reread FAIL "read back '$(field L2-IDE-REREAD)'"; failed=1
	fi
	errs=$(field L2-IDE-ERRORS)
	if [ "$errs" = 0 ]; then
		result $mode-no-errors PASS
	else
		result $mode-no-errors FAIL "$errs ATA error lines in L2's log"; failed=1
	fi
	# libata's choice of transfer mode (sysfs xfer_mode): bus-master DMA unless told otherwise.
	want=XFER_MW_DMA
	[ $mode = pio ] && want=XFER_PIO
	got=$(field L2-IDE-XFER)
	case "$got" in
	"$want"*) result $mode-transfer-mode PASS "$got" ;;
	*) result $mode-transfer-mode FAIL "'$got', want $want"; failed=1 ;;
	esac
	if [ $rc -eq 0 ] && grep -q '^L2-DONE' /tmp/$mode.out && [ ! -s /tmp/$mode.err ]; then
		result $mode-poweroff PASS "sig=exit=$rc"
	else
		result $mode-poweroff FAIL "kvm-run status $rc, want 0 and no messages"; failed=1
	fi
	if [ -n "$failed" ]; then
		echo "--- kvm-run ($mode) stderr:"
		sed 's/^/L2err| /' /tmp/$mode.err
		echo "--- L2 console ($mode), last 60 lines:"
		tail -n 60 /tmp/$mode.out | sed 's/^/L2| /'
	fi
done

check unload unload_kvm
dmesg_check
