#!/bin/sh
# CPU-bound and floating-point work whose answers the host knows:
# a SHA-256 over generated data, and two floating-point series
# (busybox awk has no libm, so only + - * /).
echo "L2-SHA $(seq 1 20000 | sha256sum | cut -c1-16)"
echo "L2-FP $(awk 'BEGIN { s = 0; for (i = 1; i <= 20000; i++) s += 1 / (i * i); printf "%.9f", s }')"
echo "L2-FP2 $(awk 'BEGIN { p = 1; for (i = 1; i <= 5000; i++) p *= 4 * i * i / (4 * i * i - 1); printf "%.9f", 2 * p }')"
