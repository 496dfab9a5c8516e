package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process and returns its output and exit status.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var o, e bytes.Buffer
	status = run(args, &o, &e)
	return o.String(), e.String(), status
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"inspect", "inspect", 0}, {"inspec", "inspect", 1},
		{"isnpect", "inspect", 1}, {"conevrt", "convert", 1}, {"mrege", "merge", 1},
		{"scna", "scan", 1}, {"kitten", "sitting", 3}, {"", "scan", 4},
		{"détail", "detail", 1}, {"埋め込み", "埋め", 2},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestSuggestCommand(t *testing.T) {
	for in, want := range map[string]string{
		"inspec": "inspect", "INSPECT": "inspect", "isnpect": "inspect", "convet": "convert",
		"conv": "convert", "merg": "merge", "scna": "scan", "verison": "version",
		"frobnicate": "", "x": "", "ls": "",
	} {
		if got := suggestCommand(in); got != want {
			t.Errorf("suggestCommand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNotCommand(t *testing.T) {
	_, stderr, st := runCLI(t, "inspcet", "x.pt")
	if st != exitUsage || !strings.Contains(stderr, "did you mean inspect?") {
		t.Errorf("typo: status %d, stderr %q", st, stderr)
	}
	_, stderr, st = runCLI(t, "missing.pt")
	if st != exitUsage || !strings.Contains(stderr, "missing.pt: no such file or folder") {
		t.Errorf("missing file: status %d, stderr %q", st, stderr)
	}
	_, stderr, st = runCLI(t, "--bogus")
	if st != exitUsage || !strings.Contains(stderr, `unknown command "--bogus"`) {
		t.Errorf("flag: status %d, stderr %q", st, stderr)
	}
}

// `embtool FILE...` (what dropping files on embtool.exe runs) inspects.
func TestBareFilesInspect(t *testing.T) {
	dir := t.TempDir()
	a := copyFixture(t, "a1111_f32.pt", dir, "dropped file.pt")
	stdout, stderr, st := runCLI(t, a, "../../testdata/fixtures/kohya_f32.safetensors")
	if st != exitOK || !strings.Contains(stdout, "dropped file") || !strings.Contains(stdout, "kohya_f32") {
		t.Errorf("status %d\nstdout %s\nstderr %s", st, stdout, stderr)
	}
	stdout, _, st = runCLI(t, dir)
	if st != exitOK || !strings.Contains(stdout, "dropped file") {
		t.Errorf("a folder: status %d\nstdout %s", st, stdout)
	}
}

func TestVersion(t *testing.T) {
	stdout, _, st := runCLI(t, "--version")
	if st != exitOK || !strings.HasPrefix(stdout, "embtool ") {
		t.Errorf("--version: status %d, %q", st, stdout)
	}
	bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"},
		{Key: "vcs.modified", Value: "true"}}}
	got := formatVersion("", "", "", bi)
	if !strings.HasPrefix(got, "embtool (devel) (commit abc123-dirty, built 2026-12-01T00:00:00Z, go") {
		t.Errorf("from build info: %q", got)
	}
	got = formatVersion("1.2.3", "def456", "2026-12-02T00:00:00Z", bi)
	if !strings.HasPrefix(got, "embtool 1.2.3 (commit def456, built 2026-12-02T00:00:00Z, go") {
		t.Errorf("stamped: %q", got)
	}
	got = formatVersion("", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}})
	if !strings.HasPrefix(got, "embtool v0.3.0 (commit unknown, built unknown") {
		t.Errorf("go install @version: %q", got)
	}
	if got := formatVersion("", "", "", nil); !strings.HasPrefix(got, "embtool (devel) ") {
		t.Errorf("no build info: %q", got)
	}
}

func TestShouldWait(t *testing.T) {
	for _, c := range []struct {
		procs          int
		console, noEnv bool
		want           bool
	}{
		{1, true, false, true},   // double-click, drag-and-drop
		{2, true, false, false},  // from cmd.exe or PowerShell
		{1, false, false, false}, // stdin a pipe or a file
		{0, false, false, false}, // no console
		{1, true, true, false},   // EMBTOOL_NO_WAIT set
	} {
		if got := shouldWait(c.procs, c.console, c.noEnv); got != c.want {
			t.Errorf("shouldWait(%d, %v, %v) = %v", c.procs, c.console, c.noEnv, got)
		}
	}
}

// copyFixture copies testdata/fixtures/name to dir/as and returns its path.
func copyFixture(t *testing.T, name, dir, as string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, as)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
