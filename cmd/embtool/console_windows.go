//go:build windows

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// GetConsoleProcessList is not wrapped by x/sys/windows.
var procGetConsoleProcessList = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetConsoleProcessList")

// consoleState reports how many processes share this process's console
// (0 when there is none or the call fails) and whether standard input is
// that console rather than a pipe or a file.
func consoleState() (procs int, stdinIsConsole bool) {
	if procGetConsoleProcessList.Find() == nil {
		var pids [4]uint32
		n, _, _ := procGetConsoleProcessList.Call(uintptr(unsafe.Pointer(&pids[0])), uintptr(len(pids)))
		procs = int(n)
	}
	in, err := windows.GetStdHandle(windows.STD_INPUT_HANDLE)
	if err == nil && in != 0 && in != windows.InvalidHandle {
		var mode uint32
		stdinIsConsole = windows.GetConsoleMode(in, &mode) == nil
	}
	return procs, stdinIsConsole
}

// waitIfOwnConsole keeps a console window that Windows opened just for
// this process (a double-click, or files dropped on embtool.exe) open
// until Enter, so the output can be read. From cmd.exe or PowerShell the
// shell shares the console, so nothing waits; nor with stdin redirected.
func waitIfOwnConsole(w io.Writer) {
	procs, stdinIsConsole := consoleState()
	if !shouldWait(procs, stdinIsConsole, os.Getenv("EMBTOOL_NO_WAIT") != "") {
		return
	}
	fmt.Fprint(w, "\nPress Enter to close.")
	bufio.NewReader(os.Stdin).ReadString('\n')
}
