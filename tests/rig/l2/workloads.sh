#!/bin/sh
# Workloads for the MMU (shadow paging above all), with answers the host
# knows:
#  - fork/exec: 400 short processes (each `expr` is a fork and an exec of
#    busybox), their results summed;
#  - memory: 96 MiB written into the page cache and hashed, and a
#    400000-element awk array (tens of MiB of anonymous memory) summed:
#    more page tables than a small shadow cache holds.
s=0
i=1
while [ $i -le 400 ]; do
	s=$(expr $s + $i)
	i=$(expr $i + 1)
done
echo "L2-FORK $s"
yes 0123456789abcdef | head -c 100663296 >/tmp/m
echo "L2-MEM $(sha256sum </tmp/m | cut -c1-16)"
rm -f /tmp/m
echo "L2-ARR $(awk 'BEGIN { n = 400000; for (i = 0; i < n; i++) a[i] = i * 3; s = 0; for (i = 0; i < n; i++) s += a[i]; printf "%.0f", s }')"
