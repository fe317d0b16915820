#!/bin/sh
# SMP and timer check: how many CPUs Linux brought up, and a sleep whose
# real duration the rig measures from outside (L1 watches these markers).
echo "L2-NPROC $(nproc)"
echo "L2-SLEEP-START"
sleep 2
echo "L2-SLEEP-END"
