# rig: default=yes needs=progs/ioctl_errors timeout=300
# tests/rig/progs/ioctl_errors: bad arguments to every ioctl must give
# -errno, never an oops.  Each of its TAP lines ("ok N - what",
# "not ok N - what") becomes a check, plus its exit status and plan.
. /rig/lib.sh
requires /rig/progs/ioctl_errors
dmesg_mark
if ! load_kvm; then
	result load FAIL "could not load the $RIG_KVM KVM"
	exit 1
fi
timeout -k 2 120 /rig/progs/ioctl_errors </dev/null >/tmp/ioctl_errors.out 2>&1
rc=$?
cat /tmp/ioctl_errors.out
plan=0
seen=0
while IFS= read -r line; do
	case "$line" in
	"ok "*|"not ok "*)
		seen=$((seen + 1))
		st=PASS
		case "$line" in "not ok "*) st=FAIL; line=${line#not } ;; esac
		rest=${line#ok }
		num=${rest%% *}
		desc=${rest#"$num"}
		desc=${desc# }
		desc=${desc#- }
		case "$desc" in *"# SKIP"*|*"# skip"*) st=SKIP ;; esac
		# check names are one word: number plus a slug of the description
		slug=$(echo "$desc" | sed 's/#.*//; s/ (got .*//; s/[^A-Za-z0-9_.-][^A-Za-z0-9_.-]*/-/g; s/^-//; s/-$//' | cut -c1-60)
		result "$num-$slug" $st "$desc"
		;;
	1..*) plan=${line#1..}; plan=${plan%% *} ;;
	esac
done </tmp/ioctl_errors.out
if [ $rc -eq 0 ]; then result exit-status PASS; else result exit-status FAIL "rc=$rc"; fi
if [ "$plan" -gt 0 ] 2>/dev/null && [ "$plan" -ne $seen ]; then
	result plan FAIL "planned $plan, saw $seen"
elif [ $seen -eq 0 ]; then
	result plan FAIL "no TAP lines"
else
	result plan PASS "$seen tests"
fi
check unload unload_kvm
dmesg_check
