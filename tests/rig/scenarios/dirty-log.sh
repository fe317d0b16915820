# rig: default=no needs=progs/dirty_log timeout=120
# KVM_GET_DIRTY_LOG while a guest with paging on writes chosen pages of a
# logged slot, round after round (tests/rig/progs/dirty_log.c). With
# --modargs npt=0 it checks the shadow MMU's dirty logging.
. /rig/lib.sh
requires /rig/progs/dirty_log
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
out=$(timeout -k 2 60 /rig/progs/dirty_log 2>&1)
rc=$?
echo "$out"
fails=$(echo "$out" | grep -c '^not ok')
passes=$(echo "$out" | grep -c '^ok')
[ $rc -eq 0 ] && [ "$passes" -gt 0 ] && result rounds PASS "$passes checks" ||
	result rounds FAIL "exit $rc, $fails of $((passes + fails)) checks failed"
check unload unload_kvm
dmesg_check
