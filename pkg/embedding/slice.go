package embedding

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Slice is a Python slice or index over an embedding's vectors:
// "[2:5]", "[-2:]", "[3]", "[::2]".
type Slice struct {
	Text              string // as written, brackets included
	Index             *int   // set for "[i]"
	Start, Stop, Step *int
}

// SplitSliceArg separates "file.pt[2:5]" into the path and its slice. A
// name that exists as a file is always a file, even when it ends in "]".
func SplitSliceArg(arg string) (path string, s *Slice, err error) {
	if _, statErr := os.Stat(arg); statErr == nil || !strings.HasSuffix(arg, "]") {
		return arg, nil, nil
	}
	open := strings.LastIndexByte(arg, '[')
	if open <= 0 {
		return "", nil, fmt.Errorf("%q: no such file, and no [slice] to take from one", arg)
	}
	s, err = ParseSlice(arg[open:])
	if err != nil {
		return "", nil, fmt.Errorf("%q: %w", arg, err)
	}
	return arg[:open], s, nil
}

// ParseSlice parses "[i]", "[a:b]" or "[a:b:c]" with any part omitted, as
// Python does.
func ParseSlice(text string) (*Slice, error) {
	if len(text) < 2 || text[0] != '[' || text[len(text)-1] != ']' {
		return nil, fmt.Errorf("slice %q must be in brackets", text)
	}
	body := strings.TrimSpace(text[1 : len(text)-1])
	parts := strings.Split(body, ":")
	if len(parts) > 3 {
		return nil, fmt.Errorf("slice %q has more than two colons", text)
	}
	nums := make([]*int, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || int64(n) > 1<<40 || int64(n) < -(1<<40) {
			return nil, fmt.Errorf("slice %q: %q is not an integer", text, p)
		}
		nums[i] = &n
	}
	s := &Slice{Text: text}
	if len(parts) == 1 {
		if nums[0] == nil {
			return nil, fmt.Errorf("slice %q is empty", text)
		}
		s.Index = nums[0]
		return s, nil
	}
	s.Start, s.Stop = nums[0], nums[1]
	if len(parts) == 3 {
		s.Step = nums[2]
		if s.Step != nil && *s.Step == 0 {
			return nil, fmt.Errorf("slice %q: step cannot be zero", text)
		}
	}
	return s, nil
}

// Rows returns the row indices the slice selects from n rows, with
// Python's semantics: an index out of range is an error, a range is
// clipped, and an empty selection is an error here (an embedding needs at
// least one vector).
func (s *Slice) Rows(n int) ([]int, error) {
	if s.Index != nil {
		i := *s.Index
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, fmt.Errorf("index %s out of range: the embedding has %d vectors", s.Text, n)
		}
		return []int{i}, nil
	}
	step := 1
	if s.Step != nil {
		step = *s.Step
	}
	clip := func(p *int, def int) int {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += n
		}
		lo, hi := 0, n
		if step < 0 {
			lo, hi = -1, n-1
		}
		return max(lo, min(v, hi))
	}
	var start, stop int
	if step > 0 {
		start, stop = clip(s.Start, 0), clip(s.Stop, n)
	} else {
		start, stop = clip(s.Start, n-1), clip(s.Stop, -1)
	}
	var rows []int
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		rows = append(rows, i)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("slice %s selects no vectors: the embedding has %d", s.Text, n)
	}
	return rows, nil
}
