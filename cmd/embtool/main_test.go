package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
// checkout (scripts that need it skip when it is absent).
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
		Setup: func(env *testscript.Env) error {
			env.Setenv("FIXTURES", fixtures)
			env.Setenv("CORPUS", corpus)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"no-temp-files": cmdNoTempFiles,
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
