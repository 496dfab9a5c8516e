// Command embtool inspects, converts and blends Stable Diffusion
// textual-inversion embeddings (.pt, .bin, .safetensors, A1111 .png)
// without Python and without ever running a pickle.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

// Exit statuses of design.md §1.
const (
	exitOK     = 0
	exitFailed = 1 // some input failed or was flagged unsafe
	exitUsage  = 2
)

const usage = `embtool — inspect, convert and blend textual-inversion embeddings.
Never runs a pickle.

Usage:
  embtool inspect [--json] [--vectors] PATH...
  embtool scan    [--json] PATH...
  embtool convert [--layout L] [--dtype D] [--name N] [--force] IN OUT
  embtool merge   [--mode blend|concat] [--weights w1,w2,...] [--scale F | --norm X]
                  [--vectors N] [--force] -o OUT IN[slice]...

Run 'embtool COMMAND --help' for a command's flags. 'embtool FILE...' inspects
(what dropping files on embtool.exe does); 'embtool --version' prints the version.
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
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "--version", "version":
		fmt.Fprintln(stdout, versionString())
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return runNotCommand(args, stdout, stderr) // a file (drag-and-drop) or a typo
	}
	return cmd(args[1:], stdout, stderr)
}

// parseFlags parses a subcommand's flags. It returns done=true with the
// exit status when the command should stop: --help (0) or a usage error (2).
func parseFlags(fs *pflag.FlagSet, synopsis string, args []string, stdout, stderr io.Writer) (done bool, status int) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage: %s\n\nFlags:\n%s", synopsis, fs.FlagUsages())
		return true, exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "embtool: %v\nUsage: %s\n", err, synopsis)
		return true, exitUsage
	}
	return false, exitOK
}

func usageError(stderr io.Writer, synopsis, format string, args ...any) int {
	fmt.Fprintf(stderr, "embtool: %s\nUsage: %s\n", fmt.Sprintf(format, args...), synopsis)
	return exitUsage
}
