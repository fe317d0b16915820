#!/bin/sh
# shadow-bench's workloads (tests/rig/progs/mmubench.c, in /usr/bin): a
# pipe ping-pong between two processes (context switches) and fork+exec+wait
# of busybox's true, each printing "MMUBENCH <name> <ns per op> <ops>".
# Counts from the kernel command line: mmubench.pipe= (4000) and
# mmubench.spawn= (150); without the shadow cache far fewer are affordable.
pipe=4000 spawn=150
for w in $(cat /proc/cmdline); do
	case "$w" in
	mmubench.pipe=*) pipe=${w#*=} ;;
	mmubench.spawn=*) spawn=${w#*=} ;;
	esac
done
mmubench pipe $pipe
mmubench spawn $spawn /bin/true
