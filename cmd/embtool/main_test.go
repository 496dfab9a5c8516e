package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/internal/testvocab"
	"github.com/embtool/embtool/pkg/embedding"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"embtool": main, // as installed, console wait included
	})
}

// TestScripts runs the CLI scripts in testdata/script. $FIXTURES is the
// repository's testdata folder; $CORPUS the real corpus beside the
// checkout (scripts that need it skip when it is absent: [!corpus] skip).
func TestScripts(t *testing.T) {
	fixtures, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := filepath.Abs("../../../shared/corpus/real")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status":        cmdStatus,
			"no-temp-files": cmdNoTempFiles,
			// genclip sd1|sdxl|ckpt FILE: a checkpoint-shaped file with the
			// real-shaped token matrices of internal/testvocab.
			"genclip": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: genclip sd1|sdxl|ckpt FILE")
				}
				w := map[string]func(string) error{"sd1": testvocab.WriteSD1, "sdxl": testvocab.WriteSDXL, "ckpt": testvocab.WriteCkpt}[args[0]]
				if w == nil {
					ts.Fatalf("genclip: unknown kind %q", args[0])
				}
				ts.Check(w(ts.MkAbs(args[1])))
			},
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("FIXTURES", fixtures)
			env.Setenv("CORPUS", corpus)
			return nil
		},
		// [corpus]: the real corpus is there. Absent, a script skips its
		// corpus part, or fails when EMBTOOL_REQUIRE_CORPUS is set (CI).
		Condition: func(cond string) (bool, error) {
			if cond != "corpus" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if _, err := os.Stat(corpus); err != nil {
				if os.Getenv(testcorpus.RequireEnv) != "" {
					return false, fmt.Errorf("the real corpus is required: %v", err)
				}
				return false, nil
			}
			return true, nil
		},
	})
}

// cmdNoTempFiles: `no-temp-files DIR` fails if a temporary output
// (.embtool-tmp-…) is anywhere under DIR. A builtin rather than `ls`, so
// the scripts run on Windows too.
func cmdNoTempFiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: no-temp-files DIR")
	}
	filepath.WalkDir(ts.MkAbs(args[0]), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), embedding.TempPrefix) {
			ts.Fatalf("temporary file left: %s", p)
		}
		return nil
	})
}

// cmdStatus is the script command "status N PROG ARGS...": it runs PROG
// like exec and fails unless PROG exits with status N. Its output is
// then matched by stdout and stderr as exec's is.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("status: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}
