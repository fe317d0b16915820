# rig: default=no needs=kvm-run,payloads timeout=900 modargs=ept=0
# payloads.sh with EPT off (ept=0 on ours and on the reference's kvm-intel):
# on VMX (Bochs as L0, rig.py --bochs) every guests.ini payload runs on
# shadow page tables, and real-mode code as virtual-8086 mode (no
# unrestricted guest without EPT).  On SVM ept= means nothing: not default.
. /rig/scenarios/payloads.sh
