package torchpt

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// tpCountingReader counts the reads and bytes read through it.
type tpCountingReader struct {
	r            *bytes.Reader
	bytes, calls int64
}

func (c *tpCountingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	n, err := c.r.ReadAt(p, off)
	c.bytes += int64(n)
	return n, err
}

// TestScanFileReadsOnce: ScanFile reads a torch file's pickles once. It
// reads fewer bytes, in fewer reads, than it did when it scanned and then
// opened the file (oldScanFile), and a legacy file's pickles no more than
// once: at most the file's first max(2×pickles, 64 KiB) bytes, as the
// reader's first read (legacyFirstRead).
func TestScanFileReadsOnce(t *testing.T) {
	var paths []string
	for _, dir := range []string{tpCorpus, tpFixtures, "../../testdata/checkpoint"} {
		p, _ := filepath.Glob(filepath.Join(dir, "*"))
		paths = append(paths, p...)
	}
	checked := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		now := &tpCountingReader{r: bytes.NewReader(b)}
		was := &tpCountingReader{r: bytes.NewReader(b)}
		s := ScanFile(now, int64(len(b)))
		oldScanFile(was, int64(len(b)))
		if s.Format != FormatZip && s.Format != FormatLegacy {
			continue
		}
		checked++
		if now.calls >= was.calls {
			t.Errorf("%s: %d reads, %d before", p, now.calls, was.calls)
		}
		switch {
		case s.Format == FormatZip && now.bytes >= was.bytes:
			t.Errorf("%s: %d bytes read, %d before", p, now.bytes, was.bytes)
		case s.Format == FormatLegacy:
			var end int64 // where the pickles end (End is within a pickle)
			for _, r := range s.Pickles {
				end += r.End
			}
			if limit := max(2*end, legacyFirstRead) + 512; now.bytes > limit {
				t.Errorf("%s: %d bytes read for pickles ending at %d", p, now.bytes, end)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d torch files", checked)
	}
}
