package main

// shouldWait decides whether to wait for Enter before exiting: only when
// the console was opened for this process alone (procs == 1: no shell
// shares it) and standard input is that console, not a pipe or a file,
// and EMBTOOL_NO_WAIT is not set (noWait).
func shouldWait(procs int, stdinIsConsole, noWait bool) bool {
	return procs == 1 && stdinIsConsole && !noWait
}
