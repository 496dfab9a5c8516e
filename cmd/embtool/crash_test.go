package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
)

// TestKillDuringConvert SIGKILLs `embtool convert --force` at many moments
// while it replaces an existing output, and checks that the destination is
// always either the old file or the complete new one, and that a temporary
// file left by a kill is never read as an embedding by a folder walk.
func TestKillDuringConvert(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and converts 48 MiB many times")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "embtool")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A 48 MiB input: large enough that a conversion takes long enough to
	// be interrupted at many points.
	in := filepath.Join(dir, "model.safetensors")
	writeBigSafetensors(t, in, 12<<20)
	work := filepath.Join(dir, "out")
	os.Mkdir(work, 0o755)
	out := filepath.Join(work, "model.pt")

	// The complete new output, and an old file it replaces.
	if msg, err := exec.Command(bin, "convert", in, out).CombinedOutput(); err != nil {
		t.Fatalf("reference convert: %v\n%s", err, msg)
	}
	newSum := fileSum(t, out)
	start := time.Now()
	exec.Command(bin, "convert", "--force", in, out).Run()
	full := time.Since(start)

	old := []byte("the previous output, which must survive any kill")
	oldSum := sha256.Sum256(old)
	kills, sawNew := 0, false
	for i := 0; i < 40; i++ {
		if err := os.WriteFile(out, old, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "convert", "--force", in, out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(full * time.Duration(i) / 40)
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		cmd.Wait()
		switch got := fileSum(t, out); got {
		case oldSum:
		case newSum:
			sawNew = true
		default:
			t.Fatalf("kill %d after %v: destination is neither the old file nor the new one", i, full*time.Duration(i)/40)
		}
	}
	if kills < 20 {
		t.Errorf("only %d of 40 runs were killed in flight", kills)
	}
	t.Logf("%d kills over a %v conversion; the new file completed before the kill: %v", kills, full, sawNew)

	// Whatever temporary files the kills left are recognisable and skipped.
	entries, _ := os.ReadDir(work)
	for _, e := range entries {
		if e.Name() != "model.pt" && !strings.HasPrefix(e.Name(), embedding.TempPrefix) {
			t.Errorf("unexpected file %s", e.Name())
		}
	}
	var stdout, stderr bytes.Buffer
	run([]string{"inspect", "--json", work}, &stdout, &stderr)
	if strings.Contains(stdout.String(), embedding.TempPrefix) || strings.Contains(stderr.String(), embedding.TempPrefix) {
		t.Errorf("inspect read a temporary file:\n%s%s", stdout.String(), stderr.String())
	}

	// The next write into the folder removes what the killed runs left,
	// once it is old enough not to be a writer that has not locked it yet,
	// and says so.
	var orphans []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), embedding.TempPrefix) {
			p := filepath.Join(work, e.Name())
			orphans = append(orphans, p)
			past := time.Now().Add(-time.Hour)
			os.Chtimes(p, past, past)
		}
	}
	t.Logf("%d temporary files left by the kills", len(orphans))
	msg, err := exec.Command(bin, "convert", in, filepath.Join(work, "again.safetensors")).CombinedOutput()
	if err != nil {
		t.Fatalf("convert after the kills: %v\n%s", err, msg)
	}
	for _, p := range orphans {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("orphan %s is still there (%v)", p, err)
		}
		if want := "removed orphaned temp file " + p + " left by an interrupted embtool"; !strings.Contains(string(msg), want) {
			t.Errorf("convert did not say %q:\n%s", want, msg)
		}
	}
}

func writeBigSafetensors(t *testing.T, path string, n int) {
	t.Helper()
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i%1000) * 0.001
	}
	a, _ := tensor.FromFloat32s(tensor.F32, []int{n / 1024, 1024}, vals)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := safetensors.Write(f, []safetensors.Named{{Name: "model.weight", Src: a}, {Name: "model.bias", Src: a}}, nil); err != nil {
		t.Fatal(err)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
