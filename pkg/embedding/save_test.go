package embedding

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestSaveRemovesOrphans: a write into a folder removes the orphans there
// and leaves no temporary file of its own.
func TestSaveRemovesOrphans(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "windows" && runtime.GOOS != "freebsd" {
		t.Skip("no file locks here")
	}
	var mu sync.Mutex
	var got []string
	OnOrphanRemoved = func(p string) {
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}
	t.Cleanup(func() { OnOrphanRemoved = nil })
	removed := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	dir := t.TempDir()
	dead := filepath.Join(dir, TempPrefix+"lk.4242.777-big.safetensors") // a dead writer's locked temp name
	if err := os.WriteFile(dead, []byte("partial output"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(dead, old, old); err != nil {
		t.Fatal(err)
	}
	d := &TensorDict{}
	if err := SaveTensorDict(filepath.Join(dir, "out.safetensors"), d, FormatSafetensors, "", false); err != nil {
		t.Fatal(err)
	}
	if got := removed(); !slices.Equal(got, []string{dead}) {
		t.Errorf("removed %v, want %s", got, dead)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"out.safetensors"}) {
		t.Errorf("folder holds %v, want only out.safetensors", names)
	}
}
