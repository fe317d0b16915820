#!/bin/sh
# For scenarios/linux-boot.sh (kvm-run): a timed sleep the host measures,
# then a line typed on the serial console, echoed back.
echo "L2-SLEEP-BEGIN"
sleep 2
echo "L2-SLEEP-END"
echo "L2-READY-FOR-INPUT"
read -r line
echo "L2-GOT <$line>"
