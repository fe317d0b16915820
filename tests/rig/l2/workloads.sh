#!/bin/sh
# Workloads for the MMU (shadow paging above all), with answers the host
# knows (the qemu-workloads scenario checks them); each phase also prints
# "L2-T <phase> <start> <end>" (L2's uptime, seconds).
#  - spawn: /usr/bin/mmuwork (tests/rig/progs/mmuwork.c) forks and execs
#    400 short processes from two workers at once (both vCPUs), each
#    filling and summing pages of a fresh address space; the count of
#    children that answered and the sum of their answers;
#  - fork: a shell loop of 200 `expr` (400 forks and execs of busybox),
#    the results summed;
#  - sparse: mmuwork writes one page every 2 MiB, 3000 of them from two
#    threads, then reads, checks and rewrites them in 3 passes: 3000 guest
#    page tables, more than the shadow page cache holds for a 256 MiB
#    guest (2% of its pages, about 1300);
#  - pagecache: 64 MiB written into the page cache (L2's rootfs, a tmpfs
#    of half its 256 MiB) and hashed, then compared with the stream;
#  - anon: a 400000-element awk array (tens of MiB of anonymous memory)
#    summed.
up() { cut -d' ' -f1 /proc/uptime; }
t=$(up)
phase() { local n; n=$(up); echo "L2-T $1 $t $n"; t=$n; }

echo "L2-SPAWN $(mmuwork spawn 400 2)"
phase spawn
s=0
i=1
while [ $i -le 200 ]; do
	s=$(expr $s + $i)
	i=$(expr $i + 1)
done
echo "L2-FORK $s"
phase fork
echo "L2-SPARSE $(mmuwork sparse 3000 3 2)"
phase sparse
yes 0123456789abcdef | head -c 67108864 >/tmp/m
echo "L2-MEM $(sha256sum </tmp/m | cut -c1-16)"
# where the file differs from the stream, if it does (and a second hash:
# is what the page cache holds stable?)
echo "L2-MEM-CMP $(yes 0123456789abcdef | head -c 67108864 | cmp - /tmp/m 2>&1) $(sha256sum </tmp/m | cut -c1-16)"
rm -f /tmp/m
phase pagecache
echo "L2-ARR $(awk 'BEGIN { n = 400000; for (i = 0; i < n; i++) a[i] = i * 3; s = 0; for (i = 0; i < n; i++) s += a[i]; printf "%.0f", s }')"
phase anon
