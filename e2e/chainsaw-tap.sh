#!/usr/bin/env bash
# Turns chainsaw's JSON report into TAP: a line per step of each test ("<test>: <step>"),
# not ok with the first error of a step that failed (chainsaw's own cleanup steps only
# when they failed); a skipped test is one SKIP line; a
# test that ran no step at all is a failure. Usage: chainsaw-tap.sh REPORT.json
set -euo pipefail
jq -r '
	[.tests[]? | . as $t |
		if .skipped then {name: $t.name, ok: true, skip: true}
		elif ((.steps // []) | length) == 0 then {name: "\($t.name): no step ran", ok: false}
		else (.steps[] | {name: "\($t.name): \(.name // "step")",
			err: ([.operations[]?.failure.error // empty] | first)} | .ok = (.err == null) |
			# chainsaw reports its deletions as steps "cleanup (...)": a line only when one failed.
			select(.ok == false or (.name | test(": cleanup [(]") | not)))
		end] |
	"1..\(length)",
	(to_entries[] | .key as $i | .value |
		if .skip then "ok \($i + 1) - \(.name) # SKIP"
		elif .ok then "ok \($i + 1) - \(.name)"
		else "not ok \($i + 1) - \(.name)", (.err | split("\n")[:30][] | "# " + .)
		end)' "$1"
