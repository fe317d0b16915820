# rig: default=yes needs=qemu,l2linux timeout=480 modargs=npt=0
# qemu-smp.sh with nested paging off (npt=0 on both KVMs): Debian's QEMU
# boots the distro Linux with -smp 2 on shadow page tables, both vCPUs
# come up, and `sleep 2` keeps time.  Two vCPUs fault, write-protect and
# zap shadow pages of the same guest tables concurrently.
. /rig/scenarios/qemu-smp.sh
