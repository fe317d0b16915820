# rig: default=yes needs=qemu,l2linux timeout=420 modargs=npt=0
# qemu-linux.sh with nested paging off (npt=0 on both KVMs): Debian's QEMU
# boots the distro Linux on shadow page tables and its workloads come out
# right.
. /rig/scenarios/qemu-linux.sh
