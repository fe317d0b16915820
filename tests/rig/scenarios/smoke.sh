# rig: default=no needs= timeout=120
# The rig itself: load and unload the chosen KVM twice, /dev/kvm comes and
# goes, the kernel log stays clean.  Needs nothing but the module.
. /rig/lib.sh
dmesg_mark
for i in 1 2; do
	check load-$i load_kvm
	check dev-kvm-$i test -c /dev/kvm
	check unload-$i unload_kvm
done
dmesg_check
