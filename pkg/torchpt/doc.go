// Package torchpt reads and writes PyTorch .pt/.bin files — the zip format
// of torch.save since 1.6 and the legacy pre-1.6 format — without Python
// and without ever executing a pickle.
//
// Each pickle is read in one pass. The scan walks it opcode by opcode and
// checks it against an allow-list of data-only globals (tensor and
// parameter rebuilds, storage classes, OrderedDict, set, ParameterDict);
// embtool's data-only VM rides on the scan (vm.go): the scanner decodes
// each opcode and operand once and the VM builds the value of each item it
// pushes, with every global bound to a fixed Go stand-in. The value is
// used only when the whole pickle passed the scan. Tensors come back as
// lazy views into storages; Load materialises one.
//
// # Security
//
// No input makes this package import, call or execute anything named in a
// file. Every opcode, operand length, memo index, stack depth and
// container size is checked by the scan before the VM runs the opcode;
// the VM stops at the first opcode the reader refuses (outside
// opInfo.allowed, or a finding without Options.AllowUnsafe) and at the
// first defect the scan reads past. Its values are bounded in number
// (valueBudget, counting what the memo shares once per reference), depth
// and cycles before anything uses them, and a panic inside it is
// recovered into an error.
//
// Scan reads a pickle as CPython's C unpickler under torch.load does, or
// reports it unsafe ("ambiguous: ..."): text operands (INT, LONG, FLOAT,
// PUT, GET) only in their canonical spelling, STRING and UNICODE decoded
// by CPython's exact rules, no operand across a protocol-4 frame end, no
// FRAME inside an unfinished one, no STOP before the frame's end. Where
// CPython would read past a defect (a type the VM does not hold, a VM
// limit), the scan goes on, so a later global is still reported; it stops
// only where CPython's unpickler stops too. ScanFile sniffs files as
// torch.load does (zip magic, then a tar header, then a pickle from byte 0
// whatever else the file looks like) and scans all five pickles of a
// legacy file whatever their first byte; in the same walk it runs the
// reader's VM and checks, so that a safe file the reader would refuse is
// an error, without reading or scanning any pickle twice. Every storage's record size is
// checked against its declared element count and every tensor view
// against its storage before any data is read; a view may not address
// more elements than its storage holds, so materialising tensors never
// allocates more than the file provides. Zip entries must be stored or
// deflated with a bounded ratio, inside the archive's single top folder,
// with clean names and without duplicates; CRC-32 is verified.
//
// The zip directory is read by one walker (parseZipDir) for both Open and
// ScanFile, and a zip is accepted only when every loader reads the same
// archive: miniz inside torch.load, Python's zipfile and archive/zip. One
// end record whose comment ends at EOF; a zip64 record only right before
// its locator and the end record, agreeing with every unsaturated field;
// a central directory that ends exactly there and whose entry count and
// size agree; local headers that match their directory entries (name,
// flags, method, CRC and sizes, or zeros with bit 3 and a matching data
// descriptor); entries that tile the file from offset 0 to the directory
// without gap or overlap; names without NUL, control bytes or invalid
// UTF-8 that stay distinct under miniz's case-insensitive lookup. Anything
// else is an *AmbiguousZipError, reported as an unsafe "ambiguous: …"
// finding and refused even with Options.AllowUnsafe. A TorchScript archive
// (constants.pkl or code/) is unsafe too: torch.load hands it to
// torch.jit.load, which runs its code.
package torchpt
