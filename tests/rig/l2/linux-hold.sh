#!/bin/sh
# For scenarios/linux-bench.sh: announce init and wait for one line on the
# console, so the host can measure the VMM while the guest sits at init.
echo "L2-HOLD"
read -r line
