# TAP helpers for the control-plane rung's shell tests (tests/integration/*.t.sh).
# Sourced. A test script calls `plan N`, then one of ok/not_ok/check/check_eventually
# per test; when it exits, a count that differs from the plan is reported as a failure
# of its own, so a script that dies half-way cannot pass. Exit status: 0 only when
# every planned test ran and passed.
#
#   plan N                         print the plan
#   ok DESC / not_ok DESC [DIAG]   record a result (DIAG lines are printed as "# ...")
#   check DESC CMD...              ok when CMD exits 0; its output becomes the diagnostics
#   check_eventually DESC SECS CMD...   ok when CMD exits 0 within SECS seconds
#   wait_until SECS CMD...         poll CMD every 0.5 s; 0 when it succeeded in time
#   diag MSG...                    a "# " comment line
#   skip DESC REASON               an ok line with a SKIP directive
#   at_exit 'SHELL CMD'            run at exit, before the count is checked (cleanup;
#                                  do not set an EXIT trap of your own)

TAP_PLANNED=-1
TAP_RAN=0
TAP_FAILED=0
TAP_AT_EXIT=()

at_exit() {
	TAP_AT_EXIT+=("$1")
}

diag() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

ok() {
	TAP_RAN=$((TAP_RAN + 1))
	echo "ok $TAP_RAN - $1"
}

not_ok() {
	TAP_RAN=$((TAP_RAN + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_RAN - $1"
	[ $# -gt 1 ] && [ -n "$2" ] && diag "$(tail -n 40 <<<"$2")"
	return 0
}

skip() {
	TAP_RAN=$((TAP_RAN + 1))
	echo "ok $TAP_RAN - $1 # SKIP $2"
}

check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc" "command: $*"$'\n'"$out"
	fi
}

wait_until() {
	local secs=$1 deadline
	shift
	deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.5
	done
}

check_eventually() {
	local desc=$1 secs=$2 out
	shift 2
	if wait_until "$secs" "$@"; then
		ok "$desc"
	else
		out=$("$@" 2>&1)
		not_ok "$desc" "not true after ${secs}s: $*"$'\n'"$out"
	fi
}

tap_finish() {
	local rc=$? i
	for ((i = ${#TAP_AT_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${TAP_AT_EXIT[$i]}" >/dev/null 2>&1 || true
	done
	if ((TAP_PLANNED >= 0 && TAP_RAN != TAP_PLANNED)); then
		echo "not ok $((TAP_RAN + 1)) - planned $TAP_PLANNED tests, ran $TAP_RAN (script exited with status $rc)"
		exit 1
	fi
	((TAP_FAILED == 0 && rc == 0)) || exit 1
	exit 0
}
trap tap_finish EXIT
