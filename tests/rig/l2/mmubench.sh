#!/bin/sh
# shadow-bench's workloads (tests/rig/progs/mmubench.c, in /usr/bin): a
# pipe ping-pong between two processes (context switches) and fork+exec+wait
# of busybox's true, each printing "MMUBENCH <name> <ns per op> <ops>".
# Counts from the kernel command line: mmubench.pipe= (4000) and
# mmubench.spawn= (150); without the shadow cache far fewer are affordable.
# mmubench.rounds= (1) runs each that many times, one line per round (the
# rig's figures swing between runs: shadow-bench takes the median).
pipe=4000 spawn=150 rounds=1
for w in $(cat /proc/cmdline); do
	case "$w" in
	mmubench.pipe=*) pipe=${w#*=} ;;
	mmubench.spawn=*) spawn=${w#*=} ;;
	mmubench.rounds=*) rounds=${w#*=} ;;
	esac
done
r=0
while [ $r -lt $rounds ]; do
	mmubench pipe $pipe
	mmubench spawn $spawn /bin/true
	r=$((r + 1))
done
