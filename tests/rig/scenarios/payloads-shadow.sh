# rig: default=yes needs=kvm-run,payloads timeout=900 modargs=npt=0
# payloads.sh with nested paging off (npt=0 on ours and on the reference's
# kvm-amd): every guests.ini payload runs on shadow page tables.
. /rig/scenarios/payloads.sh
