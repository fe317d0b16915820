# rig: default=yes needs=progs/host_unmap timeout=120 modargs=npt=0
# host-unmap.sh with nested paging off (npt=0 on both KVMs): the shadow
# MMU's MMU notifier, reverse map and large leaves.
. /rig/scenarios/host-unmap.sh
