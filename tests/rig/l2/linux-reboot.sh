#!/bin/sh
# For scenarios/linux-boot.sh (kvm-run): reboot at once (never returns).
echo "L2-REBOOTING"
reboot -f
echo "L2-REBOOT-FAILED"
