#!/bin/bash
# bench.sh - make bench: run the rig's bench, ide-bench and linux-bench
# scenarios on the reference and on our kvm.ko in one rig invocation and
# print, per row, the cycles per op (or the unit the row's name gives: -ms,
# -kib-s, -x100) each measured inside the guest and the ratio ours/reference (with --modargs
# npt=0 both run shadow paging, and ours also runs bench_cr3switch with
# shadow_cache=0: a *_nocache row, uncached/cached; shadow-bench always
# runs with npt=0 and gives the L2 Linux rows of the shadow MMU, pipe
# ping-pong and fork+exec, with *_nocache rows and *_nounsync rows (shadow_unsync=0, no unsync/unsync) too). Absolute numbers
# under the rig's emulated CPU mean little; the ratio is the result.
# Exits non-zero when the bench itself is broken (a boot or a bench payload
# failed, or a row is missing on one side); never because of a number.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$root/tests/rig/rig.py" --kvm=both --scenario bench --scenario ide-bench --scenario linux-bench --scenario shadow-bench "$@" | tee "$log"
rc=${PIPESTATUS[0]}
logs=$root/build/rig/logs
python3 - "$logs/latest-reference-bench.results" "$logs/latest-ours-bench.results" \
	"$logs/latest-reference-ide-bench.results" "$logs/latest-ours-ide-bench.results" \
	"$logs/latest-reference-linux-bench.results" "$logs/latest-ours-linux-bench.results" \
	"$logs/latest-reference-shadow-bench.results" "$logs/latest-ours-shadow-bench.results" <<'PY'
import re, sys
skipped = set()  # payloads one side skipped (e.g. no in-kernel irqchip)
def rows(*paths):
    out = {}
    for path in paths:
      try:
        for line in open(path, errors="replace"):
            m = re.match(r"RIG: (?:ide-|linux-|shadow-)?bench (\S+)\.(\S+) PASS value=(\d+)", line.strip())
            if m:
                out["%s.%s" % (m.group(1), m.group(2))] = int(m.group(3))
            m = re.match(r"RIG: (?:ide-|linux-|shadow-)?bench (\S+) SKIP", line.strip())
            if m:  # a payload this KVM cannot run (e.g. no in-kernel irqchip)
                skipped.add(m.group(1))
            m = re.match(r"RIG: (?:ide-|linux-|shadow-)?bench (\S+)\.(\S+) SKIP", line.strip())
            if m:  # one row this KVM cannot run: not a broken bench
                out["%s.%s" % (m.group(1), m.group(2))] = "skipped"
      except OSError:
        pass
    return out
ref, ours = rows(*sys.argv[1::2]), rows(*sys.argv[2::2])
names = list(dict.fromkeys(list(ref) + list(ours)))
print()
print("%-26s %14s %14s %8s" % ("row (cycles/op; -ms, -kib-s)", "reference", "ours", "ours/ref"))
missing = 0
for n in names:
    r, o = ref.get(n), ours.get(n)
    if n.endswith("_nocache") or n.endswith("_nounsync"):
        # ours only (shadow_cache=0, shadow_unsync=0): compared with our default row
        sfx = n[n.rindex("_"):]
        cached = ours.get(n[:-len(sfx)])
        ratio = "%.2f" % (o / cached) if isinstance(cached, int) and cached and isinstance(o, int) else "-"
        print("%-24s %14s %14s %8s  (%s)" % (n, "-", o, ratio,
              "uncached/cached" if sfx == "_nocache" else "no unsync/unsync"))
        continue
    numbers = isinstance(r, int) and isinstance(o, int)
    ratio = "%.2f" % (o / r) if numbers and r else "-"
    gone = "skipped" if n.split(".")[0] in skipped else "missing"
    missing += (r is None or o is None) and gone == "missing"
    print("%-24s %14s %14s %8s" % (n, r if r is not None else gone,
                                    o if o is not None else gone, ratio))
if not names or missing:
    print("bench: rows missing", file=sys.stderr)
    sys.exit(1)
PY
table_rc=$?
[ "$rc" -eq 0 ] && [ "$table_rc" -eq 0 ]
