package main

import (
	"fmt"
	"testing"

	"github.com/embtool/embtool/pkg/embedding"
)

func TestHint(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("out.pt: %w", embedding.ErrExists), " (use --force to overwrite)"},
		{embedding.ErrNeedsName, ": pass --name"},
		{embedding.ErrNotEmbedding, ""},
	} {
		if got := hint(c.err); got != c.want {
			t.Errorf("hint(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
