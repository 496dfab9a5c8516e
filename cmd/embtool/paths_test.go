package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embtool/embtool/pkg/embedding"
)

// File names as users have them: Japanese, spaces, the A1111 folder
// layout; and --force replacing an existing output. Run on every system,
// and under Wine for Windows (scripts/wine_test.sh).

// noTempFiles fails when a temporary output is left anywhere under dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), embedding.TempPrefix) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, st := runCLI(t, args...)
	if st != exitOK {
		t.Fatalf("embtool %q: status %d\nstdout %s\nstderr %s", args, st, stdout, stderr)
	}
	return stdout
}

func TestA1111LayoutNonASCIINames(t *testing.T) {
	root := t.TempDir()
	emb := filepath.Join(root, "stable-diffusion-webui", "embeddings")
	neg := copyFixture(t, "a1111_f32.pt", emb, "ネガティブ 手.pt")
	yuno := copyFixture(t, "kohya_f32.safetensors", emb, filepath.Join("sub folder", "gasai yuno-1000.safetensors"))

	out := mustRun(t, "inspect", emb)
	for _, want := range []string{"ネガティブ 手", "gasai yuno-1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect of the embeddings folder lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "inspect", "--json", neg)
	if !strings.Contains(out, `"ok":true`) {
		t.Errorf("inspect --json: %s", out)
	}

	// Batch conversion mirrored under a folder, then in place beside each input.
	mustRun(t, "convert", "--to", "pt", "-o", filepath.Join(root, "出力 先"), emb)
	if _, err := os.Stat(filepath.Join(root, "出力 先", "sub folder", "gasai yuno-1000.pt")); err != nil {
		t.Error(err)
	}
	mustRun(t, "convert", "--to", "safetensors", emb)
	for _, p := range []string{filepath.Join(emb, "ネガティブ 手.safetensors"), strings.TrimSuffix(yuno, ".safetensors") + ".safetensors"} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}

	// One file, a non-ASCII output name; merge with a space in every name.
	ja := filepath.Join(emb, "日本語 の 名前.safetensors")
	mustRun(t, "convert", neg, ja)
	if out := mustRun(t, "inspect", ja); !strings.Contains(out, "日本語 の 名前") {
		t.Errorf("inspect %s:\n%s", ja, out)
	}
	merged := filepath.Join(emb, "混ぜた neg.safetensors")
	mustRun(t, "merge", "-o", merged, neg, yuno+"[:1]")
	if out := mustRun(t, "inspect", merged); !strings.Contains(out, "混ぜた neg") {
		t.Errorf("inspect %s:\n%s", merged, out)
	}
	noTempFiles(t, root)
}

// convert --force replaces an existing output atomically; without --force
// it is refused and the old file kept.
func TestForceReplacesExisting(t *testing.T) {
	dir := t.TempDir()
	in := copyFixture(t, "a1111_f32.pt", dir, "in put.pt")
	out := filepath.Join(dir, "out put.safetensors")
	old := []byte("an older output")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, st := runCLI(t, "convert", in, out); st != exitFailed || !strings.Contains(stderr, "already exists") {
		t.Errorf("without --force: status %d, %s", st, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != string(old) {
		t.Fatal("refused conversion changed the output")
	}
	mustRun(t, "convert", "--force", in, out)
	if out := mustRun(t, "inspect", out); !strings.Contains(out, "2×768") {
		t.Errorf("replaced output: %s", out)
	}
	noTempFiles(t, dir)
}

// Two inputs that would write the same output (EasyNegative.pt and
// EasyNegative.safetensors mirrored under -o) both fail with the reason,
// instead of racing for the file.
func TestBatchOutputClash(t *testing.T) {
	dir := t.TempDir()
	emb := filepath.Join(dir, "embeddings")
	copyFixture(t, "a1111_f32.pt", emb, "EasyNegative.pt")
	copyFixture(t, "kohya_f32.safetensors", emb, "EasyNegative.safetensors")
	copyFixture(t, "sdxl.pt", emb, "other.pt")
	out := filepath.Join(dir, "out")
	stdout, stderr, st := runCLI(t, "convert", "--to", "safetensors", "-o", out, emb)
	if st != exitFailed || !strings.Contains(stderr, "2 inputs would write it and their vectors differ") {
		t.Errorf("status %d\nstdout %s\nstderr %s", st, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "EasyNegative.safetensors")); !os.IsNotExist(err) {
		t.Errorf("clashing output written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "other.safetensors")); err != nil {
		t.Errorf("the other input was not converted: %v", err)
	}
}
