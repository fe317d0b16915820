# rig: default=no needs=kvm-run,payloads timeout=300
# make demo: load the chosen KVM and run the greeting payload with its serial
# console straight on the terminal.
. /rig/lib.sh
requires kvm-run payloads
p=${RIG_PAYLOAD:-$(cat /rig/payload.default)}
load_kvm || { result load FAIL "could not load the $RIG_KVM KVM"; exit 1; }
echo "rig: kvm-run -kernel $p (kvm=$RIG_KVM) -- guest serial follows"
echo "----------------------------------------------------------------"
args=$(cat /rig/payloads/$p/args 2>/dev/null)
timeout -k 2 60 kvm-run -kernel /rig/payloads/$p/image $args -nographic </dev/null
rc=$?
echo "----------------------------------------------------------------"
echo "rig: kvm-run exited with status $rc (guests.ini expects $(cat /rig/payloads/$p/exit))"
[ $rc -eq "$(cat /rig/payloads/$p/exit)" ] && result "$p" PASS "exit=$rc" || result "$p" FAIL "exit=$rc"
unload_kvm
