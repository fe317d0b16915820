# rig: default=no needs=qemu,l2linux timeout=600
# Debian's QEMU boots the distro Linux (L2) on the chosen KVM, as in
# qemu-linux, and L2 runs tests/rig/l2/workloads.sh: a fork/exec-heavy
# loop and a memory workload whose answers are known. Meant for the MMU:
#   tests/rig/rig.py --kvm=both --modargs npt=0 --scenario qemu-workloads
# (on ours add shadow_cache=0 or a small shadow_max_pages to stress it).
. /rig/lib.sh
requires qemu /rig/l2/vmlinuz
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
start=$(date +%s)
timeout -k 5 480 qemu-system-x86_64 -accel kvm -machine kernel_irqchip=off \
	-m 256 -display none -monitor none -vga none -nic none -no-reboot \
	-serial file:/tmp/l2.out \
	-kernel /rig/l2/vmlinuz -initrd /rig/l2/initrd.cpio \
	-append "console=ttyS0 quiet panic=-1 l2.cmd=workloads" \
	</dev/null >/tmp/qemu.log 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
show() { echo "--- qemu exit $rc after ${secs}s; stderr:"; cat /tmp/qemu.log; echo "--- L2 console (tail):"; tail -n 40 /tmp/l2.out; }
grep -q '^L2-INIT' /tmp/l2.out && result boot-to-init PASS || { show; result boot-to-init FAIL "no L2-INIT line (qemu exit $rc)"; }
v=$(sed -n 's/^L2-FORK \([0-9]*\).*/\1/p' /tmp/l2.out)
[ "$v" = 80200 ] && result fork-exec PASS "sig=$v" || result fork-exec FAIL "sum '$v'"
v=$(sed -n 's/^L2-MEM \([0-9a-f]*\).*/\1/p' /tmp/l2.out)
[ "$v" = 64e371fb8dc9e051 ] && result memory-pagecache PASS "sig=$v" || result memory-pagecache FAIL "sha256 prefix '$v'"
v=$(sed -n 's/^L2-ARR \([0-9]*\).*/\1/p' /tmp/l2.out)
[ "$v" = 239999400000 ] && result memory-anon PASS "sig=$v" || result memory-anon FAIL "sum '$v'"
grep -q '^L2-DONE' /tmp/l2.out && [ $rc -eq 0 ] && result poweroff PASS "${secs}s" ||
	{ show; result poweroff FAIL "qemu exit $rc, L2-DONE $(grep -c '^L2-DONE' /tmp/l2.out)"; }
check unload unload_kvm
dmesg_check
