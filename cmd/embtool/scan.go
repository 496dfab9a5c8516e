package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/embtool/embtool/internal/inputfile"
	"github.com/embtool/embtool/pkg/scan"
	"github.com/embtool/embtool/pkg/torchpt"
	"github.com/spf13/pflag"
)

const scanSynopsis = "embtool scan [--json] PATH..."

// scanStatusHelp is printed after scan's flags by --help.
const scanStatusHelp = `
Exit status (as clamscan and picklescan):
  0  every file is safe
  1  some file is unsafe (whatever else failed)
  2  nothing is unsafe, but some file could not be scanned (error),
     or wrong usage
`

// Exit statuses of scan; see scanStatusHelp.
const (
	scanSafe    = 0
	scanUnsafe  = 1
	scanErrored = 2
)

// scanStatus is the exit status for a set of verdicts: unsafe wins over
// error, which wins over safe.
func scanStatus(verdicts map[string]int) int {
	if verdicts[torchpt.VerdictUnsafe] > 0 {
		return scanUnsafe
	}
	for v, n := range verdicts {
		if v != torchpt.VerdictSafe && n > 0 {
			return scanErrored
		}
	}
	return scanSafe
}

// scanReport is one line of scan --json.
type scanReport struct {
	Path     string           `json:"path"`
	Verdict  string           `json:"verdict"`
	Format   string           `json:"format"`
	Globals  []torchpt.Global `json:"globals"`
	Findings []string         `json:"findings,omitempty"`
	Error    string           `json:"error,omitempty"`
	// Records is a torch zip's directory as embtool reads it.
	Records []torchpt.ZipRecord `json:"records,omitempty"`
}

func runScan(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("scan", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per file (JSON Lines)")
	if done, st := parseFlags(fs, scanSynopsis, args, stdout, stderr); done {
		return st
	}
	if fs.NArg() == 0 {
		return usageError(stderr, scanSynopsis, "scan needs at least one file or folder")
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	inputs := expandPaths(fs.Args(), pickleExts)
	if len(inputs) == 0 {
		fmt.Fprintf(stderr, "embtool: no model files found under %s\n", strings.Join(fs.Args(), ", "))
		return scanSafe
	}
	reports := forEach(inputs, stderr, scanPath)
	verdicts := map[string]int{}
	for _, r := range reports {
		verdicts[r.Verdict]++
		if *asJSON {
			enc.Encode(r)
			continue
		}
		verdict := fmt.Sprintf("%-6s", r.Verdict)
		switch r.Verdict {
		case torchpt.VerdictUnsafe:
			verdict = paint(colorOut, ansiRed, verdict)
		case torchpt.VerdictError:
			verdict = paint(colorOut, ansiYellow, verdict)
		}
		fmt.Fprintf(stdout, "%s  %s\n", verdict, r.Path)
		for _, f := range r.Findings {
			fmt.Fprintf(stdout, "        ✗ %s\n", paint(colorOut, ansiRed, f))
		}
		if r.Error != "" {
			fmt.Fprintf(stdout, "        ! %s\n", r.Error)
		}
	}
	if len(reports) > 1 {
		summaryLine(stderr, fmt.Sprintf("%d files: %s", len(reports), counts(verdicts)))
	}
	return scanStatus(verdicts)
}

func scanPath(in input) scanReport {
	r := scanReport{Path: in.path, Globals: []torchpt.Global{}}
	if in.err != nil {
		r.Verdict, r.Error = torchpt.VerdictError, in.err.Error()
		return r
	}
	f, size, err := inputfile.Open(in.path)
	if err != nil {
		r.Verdict, r.Error = torchpt.VerdictError, fileError(in.path, err)
		return r
	}
	defer f.Close()
	s := scan.File(f, size)
	r.Verdict, r.Format, r.Records, r.Globals = s.Verdict, s.Format, s.Records, s.Globals
	for _, fd := range s.Findings {
		r.Findings = append(r.Findings, fd.String())
	}
	if s.Err != nil {
		r.Error = s.Err.Error()
	}
	return r
}
