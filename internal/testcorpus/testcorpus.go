// Package testcorpus finds the real-embedding corpus (../shared/corpus/real
// beside the checkout) and the peer scanners' samples (../shared/corpus/peers)
// for tests.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireEnv names the variable that turns a missing corpus from a skip
// into a failure; .ci/run sets it so CI cannot pass without the corpus.
const RequireEnv = "EMBTOOL_REQUIRE_CORPUS"

// Dir returns the corpus folder. When it is absent the test is skipped
// with a clear message, or fails when RequireEnv is set.
func Dir(t testing.TB) string {
	t.Helper()
	return sharedOrSkip(t, "real", "expected.json", "the real corpus")
}

// Peers returns the peer scanners' sample folder (../shared/corpus/peers
// beside the checkout, labelled in its SOURCES.md). When it is absent the
// test is skipped, or fails when RequireEnv is set.
func Peers(t testing.TB) string {
	t.Helper()
	return sharedOrSkip(t, "peers", "SOURCES.md", "the peer samples")
}

// sharedOrSkip returns ../shared/corpus/<sub>, or skips the test (fails
// it when RequireEnv is set) saying that what is missing.
func sharedOrSkip(t testing.TB, sub, marker, what string) string {
	t.Helper()
	dir, err := findShared(sub, marker)
	if err == nil {
		return dir
	}
	msg := what + " ../shared/corpus/" + sub + " is not beside this checkout: " + err.Error()
	if os.Getenv(RequireEnv) != "" {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
	return ""
}

// findShared walks up from the working directory to the module root
// (go.mod) and looks for ../shared/corpus/<sub>/<marker> beside it.
func findShared(sub, marker string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
	corpus := filepath.Join(filepath.Dir(dir), "shared", "corpus", sub)
	if _, err := os.Stat(filepath.Join(corpus, marker)); err != nil {
		return "", err
	}
	return corpus, nil
}
