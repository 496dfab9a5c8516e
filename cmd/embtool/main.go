// Command embtool inspects, converts and blends Stable Diffusion
// textual-inversion embeddings (.pt, .bin, .safetensors, A1111 .png)
// without Python and without ever running a pickle.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/spf13/pflag"
)

// Exit statuses of design.md §1.
const (
	exitOK     = 0
	exitFailed = 1 // some input failed or was flagged unsafe
	exitUsage  = 2
)

const usage = `embtool — inspect, convert and blend textual-inversion embeddings
(.pt, .bin, .safetensors, A1111 .png). Never runs a pickle.

Usage: embtool COMMAND [flags] ARGS

Commands:
  inspect  [--json] [--vectors] PATH...      what each embedding is: layout,
                                             model, vectors, norms, warnings
  scan     [--json] PATH...                  what each pickle would import
                                             and call, without running it
  convert  [--dtype D] [--name N] IN OUT     one file to .pt, .safetensors
                                             or .bin (by OUT's extension)
  convert  --to FORMAT [-o DIR] PATH...      every file and folder at once
  convert  --tensors IN OUT                  any tensor file as a plain dict
  merge    [--weights W,...] -o OUT IN...    blend or concatenate embeddings
  tokens   [--embeddings DIR] PROMPT         count a prompt's tokens as A1111
  compare  A B | PATH...                     same vectors, containments and
                                             name clashes
  plot     -o OUT.png PATH...                draw the vectors' norms

Run 'embtool help COMMAND' (or 'embtool COMMAND --help') for its flags
and examples.

Examples:
  embtool inspect ~/sd/embeddings
  embtool scan ~/Downloads/model.ckpt
  embtool convert --to safetensors -o converted/ ~/sd/embeddings

'embtool FILE...' inspects (what dropping files on embtool.exe does);
'embtool --version' prints the version.
`

func main() {
	status := run(os.Args[1:], os.Stdout, os.Stderr)
	waitIfOwnConsole(os.Stderr) // a double-click on Windows: keep the window open
	os.Exit(status)
}

// command is one subcommand: it parses its own flags.
type command func(args []string, stdout, stderr io.Writer) int

var commands = map[string]command{
	"inspect": runInspect,
	"scan":    runScan,
	"convert": runConvert,
	"merge":   runMerge,
	"tokens":  runTokens,
	"compare": runCompare,
	"plot":    runPlot,
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "help":
		if len(args) == 1 {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		if _, ok := commands[args[1]]; ok {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprintf(stderr, "embtool: help: unknown command %q\n\n%s", args[1], usage)
		return exitUsage
	case "--version", "version":
		fmt.Fprintln(stdout, versionString())
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return runNotCommand(args, stdout, stderr) // a file (drag-and-drop) or a typo
	}
	colorErr, colorOut = colorFor(stderr), colorFor(stdout)
	var mu sync.Mutex
	embedding.OnOrphanRemoved = func(path string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, "embtool: removed orphaned temp file %s left by an interrupted embtool\n", path)
	}
	defer func() { embedding.OnOrphanRemoved = nil }()
	return cmd(args[1:], stdout, stderr)
}

// parseFlags parses a subcommand's flags. It returns done=true with the
// exit status when the command should stop: --help (0) or a usage error (2).
func parseFlags(fs *pflag.FlagSet, synopsis string, args []string, stdout, stderr io.Writer) (done bool, status int) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		writeHelp(stdout, fs, synopsis)
		return true, exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %v\n%s\n", err, wrapSynopsis(synopsis))
		return true, exitUsage
	}
	return false, exitOK
}

func usageError(stderr io.Writer, synopsis, format string, args ...any) int {
	fmt.Fprintf(stderr, "embtool: %s\n%s\n", fmt.Sprintf(format, args...), wrapSynopsis(synopsis))
	return exitUsage
}
