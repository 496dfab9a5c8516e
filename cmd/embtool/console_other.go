//go:build !windows

package main

import "io"

// waitIfOwnConsole does nothing off Windows: terminals outlive commands.
func waitIfOwnConsole(io.Writer) {}
