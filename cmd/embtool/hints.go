package main

import (
	"errors"

	"github.com/embtool/embtool/pkg/embedding"
)

// hint returns the advice, naming a flag, that goes after an error from
// pkg/ whose sentinel a flag addresses, or "". The packages say what is
// wrong; only the CLI knows its flags.
func hint(err error) string {
	switch {
	case errors.Is(err, embedding.ErrExists):
		return " (use --force to overwrite)"
	case errors.Is(err, embedding.ErrNeedsName):
		return ": pass --name"
	}
	return ""
}
