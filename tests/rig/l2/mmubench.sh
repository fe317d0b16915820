#!/bin/sh
# shadow-bench's workloads (tests/rig/progs/mmubench.c, in /usr/bin): a
# pipe ping-pong between two processes (context switches) and fork+exec+wait
# of busybox's true, each printing "MMUBENCH <name> <ns per op> <ops>".
mmubench pipe 4000
mmubench spawn 150 /bin/true
