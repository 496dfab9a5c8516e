//go:build windows

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Windows path forms and file sharing; run under Wine in CI
// (scripts/wine_test.sh), where C: is the Wine prefix's drive_c.

// Drive letters, forward slashes after a drive, extended-length \\?\ paths
// and UNC paths all name the same files.
func TestWindowsPathForms(t *testing.T) {
	dir := t.TempDir() // C:\users\...\Temp\... : absolute, with a drive letter
	if filepath.VolumeName(dir) == "" || !strings.Contains(dir, `\`) {
		t.Fatalf("TempDir %q has no drive letter", dir)
	}
	copyFixture(t, "a1111_f32.pt", dir, "in.pt")
	forms := map[string]string{
		"drive letter":    dir,
		"forward slashes": filepath.ToSlash(dir),
		"extended-length": `\\?\` + dir,
	}
	// \\localhost\C$\... needs the administrative share: on Windows it is
	// usually there; Wine has no SMB server, so this form is skipped there.
	unc := `\\localhost\` + strings.TrimSuffix(filepath.VolumeName(dir), ":") + `$` + dir[len(filepath.VolumeName(dir)):]
	if _, err := os.Stat(unc); err == nil {
		forms["UNC"] = unc
	} else {
		t.Logf("UNC form %s not reachable (%v): not tested", unc, err)
	}
	for name, d := range forms {
		t.Run(name, func(t *testing.T) {
			sep := `\`
			if name == "forward slashes" {
				sep = "/"
			}
			src := d + sep + "in.pt"
			out := d + sep + "out " + strings.ReplaceAll(name, " ", "_") + ".safetensors"
			mustRun(t, "convert", "--force", src, out)
			if got := mustRun(t, "inspect", out); !strings.Contains(got, "2×768") {
				t.Errorf("inspect %s: %s", out, got)
			}
			if got := mustRun(t, src); !strings.Contains(got, "a1111") { // the drag-and-drop form
				t.Errorf("embtool %s: %s", src, got)
			}
		})
	}
	noTempFiles(t, dir)
}

// Backslashes in relative paths and in `convert --to -o`: the tree is
// mirrored under the output folder.
func TestBackslashOutputDir(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, "a1111_f32.pt", dir, `stable-diffusion-webui\embeddings\a.pt`)
	copyFixture(t, "kohya_f32.safetensors", dir, `stable-diffusion-webui\embeddings\deep\b.safetensors`)
	t.Chdir(dir)
	out := mustRun(t, "convert", "--to", "pt", "-o", `converted\pt files`, `stable-diffusion-webui\embeddings`)
	for _, want := range []string{`converted\pt files\a.pt`, `converted\pt files\deep\b.pt`} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("%s not written: %v\n%s", want, err, out)
		}
	}
	mustRun(t, "convert", "--to", "safetensors", "-o", `.\mixed/out`, `stable-diffusion-webui/embeddings\deep`)
	if _, err := os.Stat(filepath.Join(dir, "mixed", "out", "b.safetensors")); err != nil {
		t.Error(err)
	}
	noTempFiles(t, dir)
}

// An output another program holds open (opened without FILE_SHARE_DELETE,
// as Python and most programs do) cannot be replaced on Windows: convert
// --force fails with exit 1 and a message naming the cause, and leaves the
// old file and no temporary file behind.
func TestForceOverOpenTarget(t *testing.T) {
	dir := t.TempDir()
	in := copyFixture(t, "a1111_f32.pt", dir, "in.pt")
	out := filepath.Join(dir, "held.safetensors")
	old := []byte("held open by another program")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, st := runCLI(t, "convert", "--force", in, out)
	f.Close()
	if st != exitFailed || !strings.Contains(stderr, "open in another program") {
		t.Errorf("status %d, stderr %q", st, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != string(old) {
		t.Error("the open file was changed")
	}
	noTempFiles(t, dir)
	// Once closed, the same command succeeds.
	mustRun(t, "convert", "--force", in, out)
}

// UNC shares (\\server\share\...) cannot be served by Wine; the path
// arithmetic of batch conversion is checked on them without a filesystem.
func TestBatchOutputUNC(t *testing.T) {
	root := `\\nas\ai\stable-diffusion-webui\embeddings`
	in := input{path: root + `\neg\ネガティブ 手.pt`, root: root}
	if got, want := batchOutput(in, `\\nas\ai\converted`, "safetensors"), `\\nas\ai\converted\neg\ネガティブ 手.safetensors`; got != want {
		t.Errorf("mirrored: %s, want %s", got, want)
	}
	if got, want := batchOutput(in, "", "safetensors"), root+`\neg\ネガティブ 手.safetensors`; got != want {
		t.Errorf("beside: %s, want %s", got, want)
	}
}

// Windows names are case-insensitive: IN.PT is in.pt, and converting a
// file onto itself by another spelling is refused, not a truncation.
func TestSameFileOtherSpelling(t *testing.T) {
	dir := t.TempDir()
	in := copyFixture(t, "a1111_f32.pt", dir, "in.pt")
	before, _ := os.ReadFile(in)
	for _, out := range []string{filepath.Join(dir, "IN.PT"), `\\?\` + in, filepath.ToSlash(in)} {
		if _, stderr, st := runCLI(t, "convert", "--force", in, out); st != exitUsage {
			t.Errorf("convert --force %s %s: status %d, %s", in, out, st, stderr)
		}
	}
	if after, _ := os.ReadFile(in); string(after) != string(before) {
		t.Error("the input was changed")
	}
}

// Paths longer than MAX_PATH (260): Go adds the \\?\ prefix itself, so
// deep A1111 extension folders work without the LongPathsEnabled setting.
func TestLongPath(t *testing.T) {
	dir := t.TempDir()
	deep := dir
	for len(deep) < 300 {
		deep = filepath.Join(deep, "a rather long folder name ネガティブ")
	}
	in := copyFixture(t, "a1111_f32.pt", deep, "in.pt")
	out := filepath.Join(deep, "out.safetensors")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "convert", "--force", in, out)
	if got := mustRun(t, "inspect", dir); !strings.Contains(got, "out") || !strings.Contains(got, "2×768") {
		t.Errorf("inspect of the deep folder: %s", got)
	}
	noTempFiles(t, dir)
}
