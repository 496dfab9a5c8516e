package torchpt

import (
	"fmt"
	"io"

	"github.com/embtool/embtool/internal/sniff"
	"github.com/embtool/embtool/pkg/tensor"
)

// Container formats.
const (
	FormatZip    = "torch-zip"
	FormatLegacy = "torch-legacy"
)

// Options adjust how a file is read.
type Options struct {
	// AllowUnsafe decodes a pickle even when it names globals outside the
	// allow-list: each becomes an inert Opaque value, nothing is executed,
	// and the findings are kept in File.Findings instead of failing.
	AllowUnsafe bool
}

// File is a decoded torch file. Tensors in Root are lazy views; their
// bytes are read by Load.
type File struct {
	Format string
	// Prefix is the zip archive's top folder ("archive", "FastNegativeV2", ...).
	Prefix string
	// Records are the zip entry names, in archive order.
	Records []string
	// Root is the unpickled object (usually a *Dict).
	Root any
	// Scans has the static report of every pickle in the file.
	Scans []*ScanResult
	// Findings are the unsafe findings of all pickles (only non-empty with
	// Options.AllowUnsafe; otherwise Open fails with *UnsafeError).
	Findings []Finding
	// Warnings are oddities that do not stop reading (extra records, a
	// byteorder record A1111 rejects, ...).
	Warnings []string
}

// Open reads a torch file (zip or legacy) from r, refusing unsafe pickles.
func Open(r io.ReaderAt, size int64) (*File, error) {
	return OpenWith(r, size, Options{})
}

// OpenWith is Open with options.
func OpenWith(r io.ReaderAt, size int64, opts Options) (*File, error) {
	// 16 bytes tell a zip, the preview format and a pickle apart; only a
	// file that is none of them is read further, for the tar magic.
	head := make([]byte, min(max(size, 0), 16))
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	head = head[:n]
	var f *File
	switch {
	case size == 0:
		return nil, &FormatError{Pkg: errPkg, Msg: "empty file"}
	case sniff.IsZip(head):
		f, err = openZip(r, size, opts)
	case sniff.IsTorchPreview(head):
		return nil, unsupportedf("PYTORCH1 archive from the 2018 preview release")
	case sniff.IsPickle(head):
		f, err = openLegacy(r, size, opts)
	default:
		if block, _ := sniff.Head(r, size); sniff.IsUstar(block) {
			return nil, unsupportedf("tar archive from pre-1.0 PyTorch")
		}
		return nil, &FormatError{Pkg: errPkg, Msg: fmt.Sprintf("not a torch file: starts with % x", head[:min(len(head), 16)])}
	}
	if err != nil {
		return nil, err
	}
	for _, s := range f.Scans {
		f.Findings = append(f.Findings, s.Findings...)
	}
	return f, nil
}

// scanAndLoad validates one pickle and, in the same pass, decodes it
// with the data-only VM; the value is returned only when the pickle is
// safe (or unsafe is allowed) and holds no opcode the VM may not run.
func scanAndLoad(f *File, data []byte, record string, resolve storageResolver, opts Options) (any, *ScanResult, error) {
	res, v, vmErr, err := scanAndBuild(data, record, record, resolve, opts.AllowUnsafe)
	f.Scans = append(f.Scans, res)
	if err != nil {
		return nil, res, err
	}
	if err := refusal(res, record, vmErr, opts.AllowUnsafe); err != nil {
		return nil, res, err
	}
	return v, res, nil
}

// refusal is why the reader refuses a pickle the scan passed: a finding
// (unless unsafe is allowed), an opcode the VM may not run, or the VM's
// error. Offsets are within the pickle.
func refusal(res *ScanResult, record string, vmErr error, allowUnsafe bool) error {
	if len(res.Findings) > 0 && !allowUnsafe {
		return &UnsafeError{Findings: res.Findings}
	}
	if code := res.disallowed; code != 0 {
		// Never run by the VM: torch.save does not write these.
		return unsupportedf("%s offset %d: pickle opcode %s (0x%02x), which torch.save never writes",
			record, res.disallowedAt, opcodes[code].name, code)
	}
	return vmErr
}

// storageFromID checks a persistent id ('storage', <class>, key, location,
// numel[, view_metadata]) and returns the class's dtype, the key and numel.
func storageFromID(pid Tuple, maxBytes int64) (dt tensor.DType, key, loc string, numel int, err error) {
	if len(pid) < 5 || len(pid) > 6 {
		return "", "", "", 0, fmt.Errorf("persistent id has %d fields, want 5", len(pid))
	}
	if name := asStr(pid[0]); name != "storage" {
		return "", "", "", 0, fmt.Errorf("persistent id of type %q, not \"storage\"", name)
	}
	cls, ok := pid[1].(*storageClass)
	if !ok {
		return "", "", "", 0, fmt.Errorf("persistent id storage type is a %s", pyTypeName(pid[1]))
	}
	dt, ok = storageDTypes()[cls.name]
	if !ok {
		return "", "", "", 0, unsupportedf("storage type torch.%s", cls.name)
	}
	key, ok = pid[2].(string)
	if !ok {
		return "", "", "", 0, fmt.Errorf("storage key is a %s, not a string", pyTypeName(pid[2]))
	}
	loc = asStr(pid[3])
	n, ok := pid[4].(int64)
	if !ok || n < 0 {
		return "", "", "", 0, fmt.Errorf("storage %q element count %v is not a non-negative int", key, pid[4])
	}
	if n > maxBytes/int64(dt.Size()) {
		return "", "", "", 0, fmt.Errorf("storage %q claims %d elements of %s, more than the file's %d bytes hold", key, n, dt, maxBytes)
	}
	return dt, key, loc, int(n), nil
}

func asStr(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}
