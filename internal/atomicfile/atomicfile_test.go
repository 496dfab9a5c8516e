package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// onlyFile fails unless dir holds exactly one entry, name, with content want.
func onlyFile(t *testing.T, dir, name, want string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("folder holds %v, want only %s", names, name)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
		t.Fatalf("%s holds %q, want %q", name, got, want)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.pt")
	var verified string
	verify := func(tmp string) error {
		b, err := os.ReadFile(tmp)
		verified = string(b)
		return err
	}
	if err := Write(path, Options{}, writeString("first"), verify); err != nil {
		t.Fatal(err)
	}
	if verified != "first" {
		t.Errorf("verify read %q from the temporary file, want first", verified)
	}
	onlyFile(t, dir, "out.pt", "first")
	// Windows has no permission bits: Go reports a writable file as 0666.
	wantMode := os.FileMode(0o644)
	if runtime.GOOS == "windows" {
		wantMode = 0o666
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != wantMode {
		t.Errorf("mode %v, want %v", st.Mode().Perm(), wantMode)
	}

	// Exists, no overwrite: ErrExists, file untouched.
	err := Write(path, Options{}, writeString("second"), verify)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("write over an existing file gave %v, want ErrExists", err)
	}
	onlyFile(t, dir, "out.pt", "first")

	// A failed read-back or a failed write leaves the old file and no temp.
	bad := errors.New("differs")
	err = Write(path, Options{Overwrite: true}, writeString("second"), func(string) error { return bad })
	if !errors.Is(err, bad) {
		t.Fatalf("failed verify gave %v", err)
	}
	onlyFile(t, dir, "out.pt", "first")
	err = Write(path, Options{Overwrite: true}, func(io.Writer) error { return bad }, verify)
	if !errors.Is(err, bad) {
		t.Fatalf("failed write gave %v", err)
	}
	onlyFile(t, dir, "out.pt", "first")

	if err := Write(path, Options{Overwrite: true}, writeString("second"), verify); err != nil {
		t.Fatal(err)
	}
	onlyFile(t, dir, "out.pt", "second")
}
