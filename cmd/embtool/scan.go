package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/pngembed"
	"github.com/embtool/embtool/pkg/safetensors"
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
		if st == exitOK {
			fmt.Fprint(stdout, scanStatusHelp)
		}
		return st
	}
	if fs.NArg() == 0 {
		return usageError(stderr, scanSynopsis, "scan needs at least one file or folder")
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	reports := forEach(expandPaths(fs.Args(), pickleExts), stderr, scanPath)
	verdicts := map[string]int{}
	for _, r := range reports {
		verdicts[r.Verdict]++
		if *asJSON {
			enc.Encode(r)
			continue
		}
		fmt.Fprintf(stdout, "%-6s  %s\n", r.Verdict, r.Path)
		for _, f := range r.Findings {
			fmt.Fprintf(stdout, "        ✗ %s\n", f)
		}
		if r.Error != "" {
			fmt.Fprintf(stdout, "        ! %s\n", r.Error)
		}
	}
	if len(reports) > 1 {
		fmt.Fprintf(stderr, "embtool: %d files: %s\n", len(reports), counts(verdicts))
	}
	return scanStatus(verdicts)
}

func scanPath(in input) scanReport {
	r := scanReport{Path: in.path, Globals: []torchpt.Global{}}
	if in.err != nil {
		r.Verdict, r.Error = torchpt.VerdictError, in.err.Error()
		return r
	}
	f, err := os.Open(in.path)
	if err != nil {
		r.Verdict, r.Error = torchpt.VerdictError, err.Error()
		return r
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		r.Verdict, r.Error = torchpt.VerdictError, err.Error()
		return r
	}
	s := scanAny(f, st.Size())
	r.Verdict, r.Format = s.Verdict(), s.Format
	r.Records = s.Records
	if r.Format == "" && s.Err == nil {
		// No pickle: check that the file is what it claims to be.
		r.Format = "no pickle"
		if err := checkDataFile(f, st.Size()); err != nil {
			r.Verdict, r.Error = torchpt.VerdictError, err.Error()
		}
	}
	for _, p := range s.Pickles {
		r.Globals = append(r.Globals, p.Globals...)
	}
	for _, fd := range s.Findings() {
		r.Findings = append(r.Findings, fd.String())
	}
	if s.Err != nil {
		r.Error = s.Err.Error()
	}
	return r
}

// checkDataFile validates a file that holds no pickle: a safetensors
// file must be valid, an image may be a plain picture, anything else is
// not a format embtool knows.
func checkDataFile(f *os.File, size int64) error {
	head := make([]byte, 64)
	n, _ := f.ReadAt(head, 0)
	switch embedding.Container(head[:n], size) {
	case embedding.ContainerSafetensors:
		_, err := safetensors.Open(f, size)
		return err
	case embedding.ContainerPNG:
		if _, err := pngembed.Decode(f, size); err != nil && !errors.Is(err, pngembed.ErrNotEmbedding) {
			return err
		}
		return nil
	}
	if bytes.HasPrefix(head, []byte("\xff\xd8\xff")) {
		return nil // a JPEG picture: no code, no embedding
	}
	return fmt.Errorf("not a torch, safetensors or PNG file")
}

// scanAny scans a NumPy .npy file as numpy.load reads it (its 0x93 magic
// is also a pickle opcode, so it must be told apart first) and anything
// else with torchpt.ScanFile.
func scanAny(f *os.File, size int64) *torchpt.FileScan {
	head := make([]byte, 8)
	n, _ := f.ReadAt(head, 0)
	if torchpt.IsNPY(head[:n]) {
		return torchpt.ScanNPY(f, size)
	}
	return torchpt.ScanFile(f, size)
}
