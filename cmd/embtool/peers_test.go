package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/torchpt"
)

// peerException is a peer sample whose verdict may differ from the rule
// (dangerous → unsafe, benign → safe), with the verdicts allowed instead
// and why. Each was checked with Debian's torch 1.13 (torch.load with a
// recording pickle_module, so nothing ran), Python's zipfile and numpy.
type peerException struct {
	allowed []string
	why     string
}

var peerExceptions = map[string]peerException{
	// Dangerous, but no loader can read them at all.
	"picklescan-data/malicious1.7z": {[]string{torchpt.VerdictError},
		"a 7z archive: torch.load fails (invalid load key '7'), pickle.load and numpy.load too; only picklescan unpacks 7z"},
	"picklescan-data/malicious1_wrong_ext.zip": {[]string{torchpt.VerdictUnsafe, torchpt.VerdictError},
		"a zip whose pickle data.txt is not in a folder: torch.load fails ('file in archive is not in a subdirectory'); numpy.load returns a non-.npy member as bytes"},
	"picklescan-data2/malicious1_crc.zip": {[]string{torchpt.VerdictUnsafe, torchpt.VerdictError},
		"a zip whose data.pkl is not in a folder: torch.load fails ('file in archive is not in a subdirectory')"},
	// Benign, but not readable as what embtool scans.
	"picklescan-data/bad_pytorch.pt": {[]string{torchpt.VerdictError},
		"8 bytes, a PNG signature only: torch.load fails (invalid load key '\\x89')"},
	"picklescan-data/not_a_pickle.bin": {[]string{torchpt.VerdictUnsafe, torchpt.VerdictError},
		"a GLOBAL whose name is not UTF-8: CPython fails decoding it before find_class (torch.load: UnicodeDecodeError); embtool refuses the unknown global"},
	"picklescan-data/benign_password_protected.zip": {[]string{torchpt.VerdictError},
		"an encrypted zip of test.txt, no pickle: torch.load fails (not in a subdirectory)"},
	"modelscan/password_protected.zip": {[]string{torchpt.VerdictError},
		"an encrypted zip of test.txt, no pickle: torch.load fails (not in a subdirectory)"},
	"picklescan-data2/int_arrays.npz": {[]string{torchpt.VerdictError},
		"a NumPy .npz (zip of .npy): embtool does not read .npz, so error, never safe"},
	"picklescan-data2/int_arrays_compressed.npz": {[]string{torchpt.VerdictError},
		"a NumPy .npz (zip of .npy): embtool does not read .npz, so error, never safe"},
	"picklescan-data2/object_arrays.npz": {[]string{torchpt.VerdictError},
		"a NumPy .npz (zip of .npy): embtool does not read .npz, so error, never safe"},
	"picklescan-data2/object_arrays_compressed.npz": {[]string{torchpt.VerdictError},
		"a NumPy .npz (zip of .npy): embtool does not read .npz, so error, never safe"},
}

var peerRow = regexp.MustCompile("^\\| `([^`]+)` \\| (dangerous|benign) \\|$")

// peerLabels reads the file → label table of SOURCES.md.
func peerLabels(t *testing.T, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	labels := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := peerRow.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			labels[m[1]] = m[2]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return labels
}

// TestPeerSuites scans every file SOURCES.md lists, each passed
// explicitly as scan does with a file argument: every sample the peer
// labels dangerous must be unsafe and every benign one safe, except the
// listed exceptions; no dangerous sample may ever be safe.
func TestPeerSuites(t *testing.T) {
	dir := testcorpus.Peers(t)
	labels := peerLabels(t, dir)
	if len(labels) < 100 {
		t.Fatalf("SOURCES.md lists only %d samples", len(labels))
	}
	counts := map[string]map[string]int{"dangerous": {}, "benign": {}}
	for name, label := range labels {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: listed in SOURCES.md but %v", name, err)
			continue
		}
		r := scanPath(input{path: path})
		counts[label][r.Verdict]++
		want := torchpt.VerdictSafe
		if label == "dangerous" {
			want = torchpt.VerdictUnsafe
		}
		if r.Verdict == want {
			continue
		}
		detail := fmt.Sprintf("error %q, findings %q", r.Error, r.Findings)
		if label == "dangerous" && r.Verdict == torchpt.VerdictSafe {
			t.Errorf("%s (dangerous): safe (%s)", name, detail)
			continue
		}
		exc, ok := peerExceptions[name]
		if !ok {
			t.Errorf("%s (%s): %s, want %s (%s)", name, label, r.Verdict, want, detail)
			continue
		}
		allowed := false
		for _, v := range exc.allowed {
			allowed = allowed || v == r.Verdict
		}
		if !allowed {
			t.Errorf("%s (%s): %s, want %s or %v: %s (%s)", name, label, r.Verdict, want, exc.allowed, exc.why, detail)
		}
	}
	for name := range peerExceptions {
		if _, ok := labels[name]; !ok {
			t.Errorf("exception %s is not in SOURCES.md", name)
		}
	}
	t.Logf("peer suites, %d files:", len(labels))
	t.Logf("  dangerous %3d → unsafe %d, error %d, safe %d", sum(counts["dangerous"]),
		counts["dangerous"][torchpt.VerdictUnsafe], counts["dangerous"][torchpt.VerdictError], counts["dangerous"][torchpt.VerdictSafe])
	t.Logf("  benign    %3d → safe %d, unsafe %d, error %d", sum(counts["benign"]),
		counts["benign"][torchpt.VerdictSafe], counts["benign"][torchpt.VerdictUnsafe], counts["benign"][torchpt.VerdictError])
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
