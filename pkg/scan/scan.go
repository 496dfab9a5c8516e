// Package scan is embtool's safety scan of one file: every pickle it holds
// (torch zip, legacy torch file, bare pickle, NumPy array) scanned without
// running it, and a file that holds no pickle checked to be what it
// claims — a valid safetensors file, an image — so the verdict is a typed
// result the CLI prints and never works out itself.
//
// # Security
//
// Nothing is executed: pickles go through torchpt's static scanner, and
// the other formats through their own bounded readers (safetensors
// MaxHeaderSize, pngembed MaxChunkSize). The format is named once, by
// internal/sniff, from the first bytes.
package scan

import (
	"errors"
	"fmt"
	"io"

	"github.com/embtool/embtool/internal/sniff"
	"github.com/embtool/embtool/pkg/pngembed"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/torchpt"
)

// NoPickle is Report.Format for a file that holds no pickle.
const NoPickle = "no pickle"

// Report is the verdict on one file.
type Report struct {
	// Verdict is torchpt.VerdictSafe, VerdictUnsafe or VerdictError.
	Verdict string
	// Format is the pickle container (torchpt.FormatZip, …), NumPy, or
	// NoPickle.
	Format  string
	Globals []torchpt.Global
	// Findings are what makes the file unsafe.
	Findings []torchpt.Finding
	// Err is why the file could not be scanned or is not well formed.
	Err error
	// Records is a torch zip's directory as embtool reads it.
	Records []torchpt.ZipRecord
}

// ErrUnknownFormat: the file holds no pickle and is no format embtool
// knows (not torch, safetensors or an image).
var ErrUnknownFormat = errors.New("not a torch, safetensors or image file")

// File scans the file of size bytes that r reads.
func File(r io.ReaderAt, size int64) *Report {
	head, err := sniff.Head(r, size)
	if err != nil {
		return &Report{Verdict: torchpt.VerdictError, Globals: []torchpt.Global{}, Err: err}
	}
	var s *torchpt.FileScan
	if torchpt.IsNPY(head) { // its magic is also a pickle opcode
		s = torchpt.ScanNPY(r, size)
	} else {
		s = torchpt.ScanFile(r, size)
	}
	rep := &Report{Verdict: s.Verdict(), Format: s.Format, Records: s.Records, Err: s.Err, Globals: []torchpt.Global{}}
	for _, p := range s.Pickles {
		rep.Globals = append(rep.Globals, p.Globals...)
	}
	rep.Findings = s.Findings()
	if rep.Format == "" && s.Err == nil {
		rep.Format = NoPickle
		if err := checkData(r, size, sniff.Detect(head, size)); err != nil {
			rep.Verdict, rep.Err = torchpt.VerdictError, err
		}
	}
	return rep
}

// checkData validates a file that holds no pickle: a safetensors file
// must be valid, a PNG may be a plain picture or an embedding, another
// image is a picture; anything else is not a format embtool knows.
func checkData(r io.ReaderAt, size int64, f sniff.Format) error {
	switch f {
	case sniff.Safetensors:
		_, err := safetensors.Open(r, size)
		return err
	case sniff.PNG:
		if _, err := pngembed.Decode(r, size); err != nil && !errors.Is(err, pngembed.ErrNotEmbedding) {
			return err
		}
		return nil
	case sniff.JPEG, sniff.GIF, sniff.WebP, sniff.BMP:
		return nil // a picture: no code, no embedding
	}
	return fmt.Errorf("%w (%s)", ErrUnknownFormat, f)
}
