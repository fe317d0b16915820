# rig: default=no needs=progs/dirty_log timeout=120
# KVM_GET_DIRTY_LOG while a guest with paging on writes chosen pages of a
# logged slot, round after round (tests/rig/progs/dirty_log.c). With
# --modargs npt=0 it checks the shadow MMU's dirty logging.
. /rig/lib.sh
tap_prog_scenario dirty_log
