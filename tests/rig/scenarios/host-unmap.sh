# rig: default=yes needs=progs/host_unmap timeout=120
# Guest RAM is the VMM process's memory: the host drops a page of it, writes
# it, forks (copy-on-write) and maps fresh memory over part of it while a
# guest reads and writes there (tests/rig/progs/host_unmap.c); the guest
# must see what the process sees.  host-unmap-shadow runs it with npt=0.
. /rig/lib.sh
requires /rig/progs/host_unmap
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
out=$(timeout -k 2 60 /rig/progs/host_unmap 2>&1)
rc=$?
echo "$out"
fails=$(echo "$out" | grep -c '^not ok')
passes=$(echo "$out" | grep -c '^ok')
[ $rc -eq 0 ] && [ "$passes" -gt 0 ] && result rounds PASS "$passes checks" ||
	result rounds FAIL "exit $rc, $fails of $((passes + fails)) checks failed"
check unload unload_kvm
dmesg_check
