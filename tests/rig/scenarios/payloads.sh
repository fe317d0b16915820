# rig: default=yes needs=kvm-run,payloads timeout=900
# Every payload of tests/guest/guests.ini under kvm-run on the chosen KVM:
# one check per payload (exit status and exact serial output).
. /rig/lib.sh
requires kvm-run payloads
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
result load PASS
for p in $(payload_list); do
	payload_check "$p"
done
check unload unload_kvm
dmesg_check
