#!/usr/bin/env bash
# `make lint`: the checks a reviewer would otherwise do by eye.
#   - functions the project bans (strcpy, sprintf, strtok, atoi: unbounded or silent
#     on bad input) anywhere in our C;
#   - cppcheck's warning and portability checks on the daemons and libraries;
#   - helm lint --strict on the chart, when there is one.
# Exits non-zero when any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
dirs=(lib agent webhook operator bpf tests bench)

banned=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(' \
	--include='*.c' --include='*.h' "${dirs[@]}" 2>/dev/null | grep -vE '\b(snprintf|vsnprintf)\s*\(')
if [ -n "$banned" ]; then
	echo "lint: banned functions (use snprintf, strtol with checks, explicit loops):"
	echo "$banned"
	status=1
fi

if command -v cppcheck >/dev/null; then
	if ! cppcheck -q --enable=warning,portability --inline-suppr --error-exitcode=1 -I. \
		--suppress=missingIncludeSystem --suppress=unknownMacro -j"$(nproc)" \
		lib webhook agent operator; then
		echo "lint: cppcheck found problems (above)"
		status=1
	fi
else
	echo "lint: cppcheck not installed (make deps installs it)"
	status=1
fi

if [ -f charts/autotrace/Chart.yaml ]; then
	helm lint --strict charts/autotrace || status=1
fi
[ $status -eq 0 ] && echo "lint: clean"
exit $status
