# rig: default=yes needs=progs/host_unmap timeout=120
# Guest RAM is the VMM process's memory: the host drops a page of it, writes
# it, forks (copy-on-write) and maps fresh memory over part of it while a
# guest reads and writes there (tests/rig/progs/host_unmap.c); the guest
# must see what the process sees.  host-unmap-shadow runs it with npt=0.
. /rig/lib.sh
tap_prog_scenario host_unmap
