#!/bin/bash
# bench.sh - make bench: run the rig's bench scenario on the reference and on
# our kvm.ko in one rig invocation and print, per row, the cycles per op each
# measured inside the guest and the ratio ours/reference. Absolute numbers
# under the rig's emulated CPU mean little; the ratio is the result.
# Exits non-zero when the bench itself is broken (a boot or a bench payload
# failed, or a row is missing on one side); never because of a number.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$root/tests/rig/rig.py" --kvm=both --scenario bench "$@" | tee "$log"
rc=${PIPESTATUS[0]}
logs=$root/build/rig/logs
python3 - "$logs/latest-reference-bench.results" "$logs/latest-ours-bench.results" <<'PY'
import re, sys
skipped = set()  # payloads one side skipped (e.g. no in-kernel irqchip)
def rows(path):
    out = {}
    try:
        for line in open(path, errors="replace"):
            m = re.match(r"RIG: bench (\S+)\.(\S+) PASS value=(\d+)", line.strip())
            if m:
                out["%s.%s" % (m.group(1), m.group(2))] = int(m.group(3))
            m = re.match(r"RIG: bench (\S+) SKIP", line.strip())
            if m:  # a payload this KVM cannot run (e.g. no in-kernel irqchip)
                skipped.add(m.group(1))
            m = re.match(r"RIG: bench (\S+)\.(\S+) SKIP", line.strip())
            if m:  # one row this KVM cannot run: not a broken bench
                out["%s.%s" % (m.group(1), m.group(2))] = "skipped"
    except OSError:
        pass
    return out
ref, ours = rows(sys.argv[1]), rows(sys.argv[2])
names = list(dict.fromkeys(list(ref) + list(ours)))
print()
print("%-24s %14s %14s %8s" % ("row (cycles/op; -ms: ms)", "reference", "ours", "ours/ref"))
missing = 0
for n in names:
    r, o = ref.get(n), ours.get(n)
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
