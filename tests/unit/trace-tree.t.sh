#!/bin/sh
# tools/trace-tree on a fixture of the OTLP receiver's spans.jsonl
# (tests/fixtures/trace-tree/spans.jsonl): a trace whose spans chain across two
# services (frontend -> backend -> backend, children written before their parent, one
# span received twice), a trace whose only span's parent was never received, a line
# that is no JSON and a half-written last line. The output must equal
# expected.txt, and expected-n1.txt with -n 1; run by dash, as any POSIX sh would.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
fx=$root/tests/fixtures/trace-tree
tree="dash $root/tools/trace-tree"
command -v dash >/dev/null || tree=$root/tools/trace-tree
n=0 failed=0
result() { # status description [diagnostics]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
	fi
}
same() { # description expected-file command...
	desc=$1 want=$2
	shift 2
	got=$("$@" 2>&1)
	[ "$got" = "$(cat "$want")" ]
	result $? "$desc" "$(printf '%s\n' "$got" | diff "$want" - 2>&1)"
}

echo 1..6
same "two traces drawn as trees: the chain across frontend and backend, the orphan under its missing parent" \
	"$fx/expected.txt" sh -c "$tree <'$fx/spans.jsonl'"
same "-n 1: the most recent trace only" "$fx/expected-n1.txt" sh -c "$tree -n 1 '$fx/spans.jsonl'"
same "the spans in the opposite order give the same trees" "$fx/expected.txt" \
	sh -c "tac '$fx/spans.jsonl' | $tree"
out=$($tree </dev/null 2>&1)
[ "$out" = "no traces" ]
result $? "no spans: 'no traces'" "$out"
out=$($tree -n many </dev/null 2>&1)
rc=$?
[ $rc -eq 2 ] && [ "$out" = "trace-tree: -n wants a number, not 'many'" ]
result $? "a bad -n: exit status 2 and what was wrong" "status $rc: $out"
out=$($tree "$fx/no-such-file" 2>&1)
rc=$?
[ $rc -ne 0 ]
result $? "a missing file: a failing exit status" "status $rc: $out"
[ "$failed" -eq 0 ]
