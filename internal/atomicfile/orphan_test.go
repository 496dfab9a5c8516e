package atomicfile

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// age sets the modification time of path to d ago.
func age(t *testing.T, path string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// recordRemovals returns an OnOrphanRemoved callback and a function
// listing the paths it was called with.
func recordRemovals(t *testing.T) (record func(string), list func() []string) {
	var mu sync.Mutex
	var got []string
	record = func(p string) {
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}
	return record, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("partial output"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveOrphans(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "windows" && runtime.GOOS != "freebsd" {
		t.Skip("no file locks here")
	}
	record, removed := recordRemovals(t)
	dir := t.TempDir()
	// A live writer's file: locked by this process, old.
	live, unlock, err := createLockedTemp(dir, "live.pt")
	if err != nil {
		t.Fatal(err)
	}
	live.Close()
	defer unlock()
	age(t, live.Name(), time.Hour)
	if !strings.HasPrefix(filepath.Base(live.Name()), fmt.Sprintf("%s%d.", lockedTempPrefix, os.Getpid())) {
		t.Errorf("temp name %s does not carry the prefix and PID", live.Name())
	}
	// A dead writer's file: nobody holds its lock.
	dead := filepath.Join(dir, lockedTempPrefix+"4242.123456-dead.pt")
	touch(t, dead)
	age(t, dead, time.Hour)
	// Unlocked but just written: could be a writer that has not locked yet.
	fresh := filepath.Join(dir, lockedTempPrefix+"4243.1-fresh.pt")
	touch(t, fresh)
	// An older embtool's temp file: it took no lock, so it may be live.
	legacy := filepath.Join(dir, TempPrefix+"99-legacy.pt")
	touch(t, legacy)
	age(t, legacy, time.Hour)
	// Not regular files, and a user's file.
	sub := filepath.Join(dir, lockedTempPrefix+"1.2-dir")
	os.Mkdir(sub, 0o755)
	age(t, sub, time.Hour)
	user := filepath.Join(dir, "emb.pt")
	touch(t, user)
	age(t, user, time.Hour)

	removeOrphans(dir, record)
	if got := removed(); !slices.Equal(got, []string{dead}) {
		t.Errorf("removed %v, want only %s", got, dead)
	}
	for _, p := range []string{live.Name(), fresh, legacy, sub, user} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if _, err := os.Lstat(dead); !os.IsNotExist(err) {
		t.Errorf("orphan %s still there (%v)", dead, err)
	}
}

// helperEnv makes the test binary run TestHelperHoldTemp as a child that
// creates a locked temporary file in the named folder and waits.
const helperEnv = "EMBTOOL_TEST_HOLD_TEMP_IN"

func TestHelperHoldTemp(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("run as a child process by TestOrphanOfKilledProcess")
	}
	f, _, err := createLockedTemp(dir, "model.pt")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	f.Write([]byte("half an embedding"))
	fmt.Println(f.Name())
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestOrphanOfKilledProcess runs a real child that holds a locked
// temporary file: while it lives its file is never removed, however old;
// once it is killed with SIGKILL (TerminateProcess on Windows) the file is
// an orphan and the next write removes it.
func TestOrphanOfKilledProcess(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "windows" && runtime.GOOS != "freebsd" {
		t.Skip("no file locks here")
	}
	record, removed := recordRemovals(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldTemp$", "-test.v=false")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(filepath.Base(strings.TrimSpace(line)), lockedTempPrefix) {
		t.Fatalf("child said %q, %v", line, err)
	}
	tmp := strings.TrimSpace(line)
	age(t, tmp, 24*time.Hour)

	removeOrphans(dir, record)
	if _, err := os.Lstat(tmp); err != nil {
		t.Fatalf("the live child's temp file was removed: %v", err)
	}
	if got := removed(); len(got) != 0 {
		t.Fatalf("reported %v while the writer lives", got)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	cmd.Wait()
	removeOrphans(dir, record)
	if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
		t.Fatalf("the killed child's temp file is still there (%v)", err)
	}
	if got := removed(); !slices.Equal(got, []string{tmp}) {
		t.Errorf("reported %v, want %s", got, tmp)
	}
}
