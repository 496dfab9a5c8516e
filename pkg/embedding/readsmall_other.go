//go:build !unix

package embedding

import "os"

// readSmall: off Unix, every file is opened through package os.
func readSmall(string, int64, *[]byte) ([]byte, *os.File, int64, bool, error) {
	return nil, nil, 0, false, nil
}
