// metrics-lint checks a Prometheus text exposition read on stdin the way
// `promtool check metrics` does: it parses the page with the Prometheus text parser
// (github.com/prometheus/common/expfmt) and runs client_golang's linter (promlint) on
// every family. Its command line is promtool's, `metrics-lint check metrics`, so a
// caller can be pointed at a real promtool instead. Test infrastructure only.
//
// Output and exit status are promtool's (Prometheus 3.x, cmd/promtool CheckMetrics):
//   - clean: nothing printed, status 0;
//   - lint problems: one "<metric> <problem>" line each on stderr, status 3;
//   - a page that does not parse: "error while linting: <error>" on stderr, status 1.
//
// The versions in go.mod are those Prometheus v0.316.0 (3.16.0) builds promtool with,
// so the two accept and reject the same pages with the same words.
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

const (
	exitClean   = 0
	exitFailure = 1 // unreadable or unparsable input, as promtool
	exitUsage   = 2
	exitLint    = 3 // promtool's "one or more lint issues detected"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "check" || os.Args[2] != "metrics" {
		fmt.Fprintln(os.Stderr, "usage: metrics-lint check metrics < exposition.txt")
		os.Exit(exitUsage)
	}
	// promlint decodes the stream itself: a parse error stops it with no problems.
	problems, err := promlint.New(os.Stdin).Lint()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error while linting:", err)
		os.Exit(exitFailure)
	}
	// Lint sorts them by metric, then by text.
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p.Metric, p.Text)
	}
	if len(problems) > 0 {
		os.Exit(exitLint)
	}
	os.Exit(exitClean)
}
