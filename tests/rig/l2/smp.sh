#!/bin/sh
# SMP and timer check: how many CPUs Linux brought up, and a sleep whose
# real duration the rig measures from outside (L1 watches these markers).
echo "L2-NPROC $(nproc)"
# Run sleep once first: the timed run then measures the timer, not the
# first-touch faults of a fresh exec (pages freed by the warm-up are
# mapped already).
sleep 0
echo "L2-SLEEP-START"
sleep 2
echo "L2-SLEEP-END"
