package identify

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/embtool/embtool/internal/sniff"
	"github.com/embtool/embtool/pkg/pngembed"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/torchpt"
)

// File says what the file of size bytes that r reads is, reading only
// headers and structure (see the package doc). name is the file's name,
// for messages only; it may be "". File never fails: a file it cannot
// read is KindUnknown (or the kind its headers showed) with Result.Err.
func File(r io.ReaderAt, size int64, name string) *Result {
	res := &Result{Kind: KindUnknown}
	head, err := sniff.Head(r, size)
	res.Start = bytes.Clone(head[:min(len(head), 16)]) // head may be the caller's buffer
	if err != nil {
		res.Err = err
		return res
	}
	f := sniff.Detect(head, size)
	switch f {
	case sniff.Empty:
		res.Kind = KindEmpty
	case sniff.Safetensors:
		res.Container = ContainerSafetensors
		identifySafetensors(res, r, size)
	case sniff.TorchZip, sniff.Pickle, sniff.TorchPreview, sniff.Tar:
		res.Container = string(f)
		if f == sniff.TorchZip {
			res.Container = ContainerTorchZip
		}
		identifyTorch(res, r, size, f)
	case sniff.PNG:
		res.Container = ContainerPNG
		identifyPNG(res, r, size)
	case sniff.JPEG, sniff.GIF, sniff.WebP, sniff.BMP, sniff.JPEGXL, sniff.HEIF:
		res.Kind, res.Container = KindImage, string(f)
	case sniff.HTML:
		res.Kind = KindHTML
	case sniff.GitLFS:
		res.Kind = KindGitLFS
	case sniff.Text:
		res.Kind = KindText
	}
	// torch.load unpickles any file that is not a zip from byte 0 (after
	// a tar check): safetensors, an image or text that is also a pickle
	// naming code is refused, whatever else it reads as; so is a legacy
	// file the reader gave up on before the scanner's every-pickle pass
	// found code.
	rescan := f != sniff.TorchZip && f != sniff.Empty
	if f == sniff.Pickle || f == sniff.TorchPreview || f == sniff.Tar {
		rescan = res.Err != nil && !errors.Is(res.Err, torchpt.ErrUnsafe)
	}
	if rescan {
		if s := torchpt.ScanFile(r, size); s.Verdict() == torchpt.VerdictUnsafe {
			res.Err = &torchpt.UnsafeError{Findings: s.Findings()}
		}
	}
	return res
}

func identifySafetensors(res *Result, r io.ReaderAt, size int64) {
	f, err := safetensors.Open(r, size)
	if err != nil {
		res.Err = err
		return
	}
	res.Safetensors = f
	root := &node{}
	entries := f.Tensors()
	root.Grow(len(entries))
	for _, e := range entries {
		root.Append(e.Name, meta{e.DType, e.Shape})
	}
	classify(res, root, f.Metadata())
}

func identifyTorch(res *Result, r io.ReaderAt, size int64, f sniff.Format) {
	tf, err := openTorch(r, size)
	res.Err = err
	if tf != nil {
		res.Torch = tf
		res.Container = tf.Format
	}
	var records []string
	switch {
	case tf != nil:
		records = tf.Records
	case f == sniff.TorchZip:
		records = zipNames(r, size)
	}
	if isTorchScript(records) {
		res.Kind = KindTorchScript
		return
	}
	if tf == nil {
		return
	}
	root, ok := fromTorch(tf.Root)
	if !ok {
		res.Notes = append(res.Notes, "top-level object is a "+torchTypeName(tf.Root))
		return
	}
	classify(res, root, nil)
}

// openTorch opens a torch file refusing unsafe pickles; an unsafe one is
// opened again with AllowUnsafe (inert values, nothing executed) so that
// its kind can be told, and the refusal is returned with it.
func openTorch(r io.ReaderAt, size int64) (*torchpt.File, error) {
	tf, err := torchpt.OpenWith(r, size, torchpt.Options{})
	if !errors.Is(err, torchpt.ErrUnsafe) {
		return tf, err
	}
	tf, uerr := torchpt.OpenWith(r, size, torchpt.Options{AllowUnsafe: true})
	if uerr != nil {
		return nil, err
	}
	return tf, err
}

// zipNames lists a zip archive's entries from its central directory, for
// an archive torchpt refused; nil when it is no readable zip.
func zipNames(r io.ReaderAt, size int64) []string {
	zr, err := zip.NewReader(r, size)
	if zr == nil || err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil
	}
	names := make([]string, len(zr.File))
	for i, e := range zr.File {
		names[i] = e.Name
	}
	return names
}

// isTorchScript: torch.jit.save writes constants.pkl and a code/ folder
// beside data.pkl.
func isTorchScript(records []string) bool {
	for _, n := range records {
		_, rel, _ := strings.Cut(n, "/")
		if rel == "constants.pkl" || strings.HasPrefix(rel, "code/") {
			return true
		}
	}
	return false
}

func identifyPNG(res *Result, r io.ReaderAt, size int64) {
	p, err := pngembed.DecodeTextChunk(r, size)
	switch {
	case errors.Is(err, pngembed.ErrNotEmbedding):
		res.Kind = KindImage
		res.PixelsUnread = true
		res.Notes = append(res.Notes, "no "+pngembed.TextKeyword+" text chunk")
		return
	case err != nil:
		res.Err = err
		return
	}
	res.PNG = p
	classify(res, fromPNG(p.Root, 0), nil)
}

func torchTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case string:
		return "str"
	case int64:
		return "int"
	case float64:
		return "float"
	case torchpt.List:
		return "list"
	case torchpt.Tuple:
		return "tuple"
	}
	return "Python object"
}
