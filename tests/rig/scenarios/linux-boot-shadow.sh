# rig: default=yes needs=kvm-run,l2linux,progs/kvm_cap timeout=480 modargs=npt=0
# linux-boot.sh with nested paging off (npt=0 on both KVMs): kvm-run boots
# the distro Linux on shadow page tables, with the in-kernel irqchip.
. /rig/scenarios/linux-boot.sh
