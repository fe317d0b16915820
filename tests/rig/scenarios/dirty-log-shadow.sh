# rig: default=yes needs=progs/dirty_log timeout=120 modargs=npt=0
# dirty-log.sh with nested paging off (npt=0 on both KVMs): KVM_GET_DIRTY_LOG
# through the shadow MMU's write protection.
. /rig/scenarios/dirty-log.sh
