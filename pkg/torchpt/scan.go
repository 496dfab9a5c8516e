package torchpt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"unicode/utf8"
)

// Limits of the validating pass. Real embedding pickles are under 1 KB
// (legacy ParameterDict files with embedded source about 10 KB) and whole
// checkpoints a few hundred KB; these caps leave ample room while keeping
// a hostile pickle from costing more than a few milliseconds or megabytes.
const (
	MaxPickleSize = 64 << 20 // bytes of one pickle
	maxMarkDepth  = 256      // nested MARKs
	maxStack      = 1 << 20  // items on the stack
	maxMemo       = 1 << 20  // memo entries
	maxDictItems  = 1 << 17  // SETITEM(S) pairs in one pickle: the VM's dict insert is linear
)

// symKind is what the validating pass knows about a stack item.
type symKind uint8

const (
	symOther symKind = iota
	symStr
	symGlobal
	symDict  // a plain dict
	symODict // a collections.OrderedDict
	symList
	symTuple
	symSet
	symTensor  // result of a tensor rebuild function
	symPDict   // a ParameterDict instance
	symStorage // a persistent storage reference
	symInert   // result of an inert checkpoint extra (numpy scalar, dtype)
	symBytes   // a bytes object (SHORT_BINBYTES, BINBYTES, BINBYTES8)
)

var symNames = [...]string{"value", "str", "global", "dict", "OrderedDict", "list", "tuple", "set", "tensor", "ParameterDict", "storage", "inert value", "bytes"}

func (k symKind) String() string { return symNames[k] }

// sym is a stack item as far as the validating pass tracks it: its kind
// and, for strings and globals, the text.
type sym struct {
	kind symKind
	gk   globalKind // for symGlobal
	// stored marks a memo slot that holds an item (memo.dense).
	stored bool
	text   string
	// v is the item's value when the VM runs (scanner.vm); see value.
	v any
}

// value is the item's value in the VM: a string or bytes item is its
// text, anything else v.
func (x sym) value() any {
	switch {
	case x.v != nil:
	case x.kind == symStr:
		return x.text
	case x.kind == symBytes:
		return []byte(x.text)
	}
	return x.v
}

// Global is one global a pickle names (GLOBAL, STACK_GLOBAL or INST).
type Global struct {
	Record string `json:"record,omitempty"`
	Offset int64  `json:"offset"`
	Op     string `json:"op"`
	Name   string `json:"name"` // module.name as written in the pickle
	Safe   bool   `json:"safe"`
}

// ScanResult is the static report of one pickle: every global it names
// and every finding that makes it unsafe.
type ScanResult struct {
	Record   string
	Protocol int
	Globals  []Global
	Findings []Finding
	// End is the offset just past STOP: where the next pickle of a legacy
	// file begins.
	End int64
	// disallowed is the first opcode the data-only VM may not run
	// (opInfo.allowed, formats.md §2) that is not already a finding (0
	// when none; no opcode is 0), disallowedAt its offset; the reader
	// refuses the pickle for it.
	disallowed   byte
	disallowedAt int64
	// short is set when the scan ran out of bytes: a caller holding only
	// a prefix of the file may retry with more.
	short bool
}

// Scan walks one pickle opcode by opcode without executing it: it checks
// every opcode is known and every length lies within the bytes left, keeps
// a symbolic stack to resolve STACK_GLOBAL strings (also through the memo)
// and the targets of REDUCE, NEWOBJ and BUILD, and records everything
// outside the allow-list. A structural defect is returned as an error
// together with what was found up to it.
func Scan(data []byte, record string) (*ScanResult, error) {
	s := newScanner(data, record)
	defer s.release()
	err := s.run()
	return s.res, err
}

// scanners keeps scanners between pickles: their stack, MARK and memo
// slices are reused, so a folder of small pickles does not allocate them
// for each one.
var scanners = sync.Pool{New: func() any { return new(scanner) }}

func newScanner(data []byte, record string) *scanner {
	s := scanners.Get().(*scanner)
	stack, marks, dense := s.stack[:0], s.marks[:0], s.memo.dense[:0]
	if stack == nil {
		stack = make([]sym, 0, 32)
	}
	*s = scanner{data: data, res: &ScanResult{Record: record}, frameEnd: -1, stack: stack, marks: marks}
	s.memo.dense = dense
	return s
}

// release returns s to the pool, its slices cleared so that they keep no
// value of the pickle alive; a scanner grown large by a big pickle is
// left to the garbage collector.
func (s *scanner) release() {
	const keep = 1 << 12
	if cap(s.stack) > keep || cap(s.memo.dense) > keep || cap(s.marks) > keep {
		return
	}
	clear(s.stack[:cap(s.stack)])
	clear(s.memo.dense[:cap(s.memo.dense)])
	*s = scanner{stack: s.stack[:0], marks: s.marks[:0], memo: memo{dense: s.memo.dense[:0]}}
	scanners.Put(s)
}

type scanner struct {
	data      []byte
	pos       int
	op        int    // offset of the current opcode
	opName    string // its name
	res       *ScanResult
	stack     []sym
	marks     []markRun // stack heights at each MARK, run-length coded
	nmarks    int       // MARKs in marks
	memo      memo
	dictItems int
	// frameEnd is the end of the current protocol-4 frame, -1 outside one.
	frameEnd int
	// softErr is the first defect after which CPython would read on: the
	// scan records it and goes on, so that what follows is still seen.
	softErr error
	// vm, when set, runs over the pickle as it is scanned (scanAndBuild).
	vm *vm
}

// live reports whether the VM runs: the values of the items pushed are
// needed.
func (s *scanner) live() bool { return s.vm != nil && !s.vm.stopped }

// stopVM stops the VM for good: at an opcode it may not run, or at its
// own error (err), which it reports only if nothing else refuses the
// pickle first.
func (s *scanner) stopVM(err error) {
	if s.live() {
		s.vm.stopped = true
		if err != nil {
			s.vm.err = s.vm.wrap(err, int64(s.op))
		}
	}
}

// fail is a defect at which CPython's unpickler stops too: nothing after
// it runs, so the scan stops.
func (s *scanner) fail(format string, args ...any) error {
	return &FormatError{Pkg: errPkg, Record: s.res.Record, Offset: int64(s.op), Msg: fmt.Sprintf(format, args...)}
}

// soft records a defect that CPython reads past (a type the data-only VM
// does not hold, a limit of the VM); the scan goes on.
func (s *scanner) soft(format string, args ...any) {
	if s.softErr == nil {
		s.softErr = s.fail(format, args...)
	}
	s.stopVM(nil)
}

// ambiguous records that CPython may read the bytes at the current opcode
// differently from embtool, and stops the scan: the file is unsafe,
// whatever follows.
func (s *scanner) ambiguous(format string, args ...any) error {
	f := Finding{Record: s.res.Record, Offset: int64(s.op), Op: s.opName, Why: "ambiguous: " + fmt.Sprintf(format, args...)}
	s.res.Findings = append(s.res.Findings, f)
	return &UnsafeError{Findings: []Finding{f}}
}

// text applies the verdict of a text operand.
func (s *scanner) text(r textResult) error {
	switch r.verdict {
	case textRefused:
		return s.fail("%s", r.why)
	case textAmbiguous:
		return s.ambiguous("%s", r.why)
	}
	return nil
}

// crossesFrame reports an operand from s.pos to end that starts inside
// the current frame and ends past it. CPython's unpickler reading from a
// file (torch.load wraps data.pkl in io.BytesIO; legacy files are a
// buffered file) holds the frame in its buffer and, when a read runs past
// the buffer, drops what is left of the frame and reads from the file
// position, the frame's end: it would read other bytes than embtool.
func (s *scanner) crossesFrame(end int) error {
	if s.frameEnd < 0 || s.pos >= s.frameEnd || end <= s.frameEnd {
		return nil
	}
	return s.ambiguous("the operand at offset %d runs %d bytes past the end of the frame at offset %d; CPython's file unpickler (torch.load) drops the %d bytes left in the frame and reads the operand from offset %d",
		s.pos, end-s.frameEnd, s.frameEnd, s.frameEnd-s.pos, s.frameEnd)
}

func (s *scanner) unsafe(op, name, why string) {
	s.res.Findings = append(s.res.Findings, Finding{Record: s.res.Record, Offset: int64(s.op), Op: op, Name: name, Why: why})
	if s.vm != nil && !s.vm.allowUnsafe {
		s.stopVM(nil)
	}
}

func (s *scanner) need(n uint64) ([]byte, error) {
	if n > uint64(len(s.data)-s.pos) {
		s.res.short = true
		return nil, s.fail("operand of %d bytes runs past the end of the pickle (%d bytes left)", n, len(s.data)-s.pos)
	}
	if err := s.crossesFrame(s.pos + int(n)); err != nil {
		return nil, err
	}
	b := s.data[s.pos : s.pos+int(n)]
	s.pos += int(n)
	return b, nil
}

// line returns the text up to the next newline, which it skips.
func (s *scanner) line() ([]byte, error) {
	rest := s.data[s.pos:]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		s.res.short = true
		return nil, s.fail("unterminated text operand")
	}
	if err := s.crossesFrame(s.pos + i + 1); err != nil {
		return nil, err
	}
	s.pos += i + 1
	return rest[:i:i], nil
}

func (s *scanner) push(x sym) error {
	if len(s.stack) >= maxStack {
		return s.ambiguous("the stack exceeds %d items; embtool does not follow the pickle further, CPython would", maxStack)
	}
	s.stack = append(s.stack, x)
	return nil
}

func (s *scanner) base() int {
	if len(s.marks) == 0 {
		return 0
	}
	return s.marks[len(s.marks)-1].h
}

func (s *scanner) pop(name string) (sym, error) {
	if len(s.stack) <= s.base() {
		return sym{}, s.fail("%s on an empty stack", name)
	}
	x := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	return x, nil
}

func (s *scanner) top(name string) (sym, error) {
	if len(s.stack) <= s.base() {
		return sym{}, s.fail("%s on an empty stack", name)
	}
	return s.stack[len(s.stack)-1], nil
}

// markRun is n MARKs at stack height h.
type markRun struct{ h, n int }

// dropMark removes the last MARK and returns its stack height.
func (s *scanner) dropMark() int {
	last := &s.marks[len(s.marks)-1]
	h := last.h
	if last.n--; last.n == 0 {
		s.marks = s.marks[:len(s.marks)-1]
	}
	s.nmarks--
	return h
}

// popMark removes and returns the items above the last MARK.
func (s *scanner) popMark(name string) ([]sym, error) {
	if len(s.marks) == 0 {
		return nil, s.fail("%s without a MARK", name)
	}
	b := s.dropMark()
	items := s.stack[b:]
	s.stack = s.stack[:b]
	return items, nil
}

// globalText checks the two lines of GLOBAL or INST as CPython decodes
// them: GLOBAL as UTF-8, INST as ASCII, the name not empty, the module
// one Python's import reads as written (see moduleNameText).
func (s *scanner) globalText(code byte, module, name []byte) (unimportable bool, err error) {
	ascii := func(b []byte) bool {
		for _, c := range b {
			if c >= 0x80 {
				return false
			}
		}
		return true
	}
	switch {
	case code == 'i' && len(module) == 0:
		return false, s.fail("INST with an empty module name")
	case len(name) == 0:
		return false, s.fail("%s with an empty name", s.opName)
	case code == 'c' && (!utf8.Valid(module) || !utf8.Valid(name)):
		return false, s.fail("GLOBAL names that are not UTF-8, which CPython refuses")
	case code == 'i' && (!ascii(module) || !ascii(name)):
		return false, s.fail("INST names that are not ASCII, which CPython refuses")
	}
	return s.moduleText(string(module))
}

// moduleText applies moduleNameText. A module no import can resolve is
// not a stop: find_class is still called, and torch's returns a storage
// type for any module when the name holds "Storage", then reads on.
func (s *scanner) moduleText(module string) (unimportable bool, err error) {
	r := moduleNameText(module)
	if r.verdict == textRefused {
		s.soft("%s", r.why)
		return true, nil
	}
	return false, s.text(r)
}

// unimportable records a global whose module cannot be imported: listed,
// not safe, not a finding (CPython's import fails on it), and an opaque
// value on the stack.
func (s *scanner) unimportable(op, module, name string) sym {
	s.res.Globals = append(s.res.Globals, Global{Record: s.res.Record, Offset: int64(s.op), Op: op, Name: module + "." + name})
	return sym{kind: symOther}
}

func (s *scanner) global(op, module, name string) sym {
	full := module + "." + name
	k := classify(module, name)
	s.res.Globals = append(s.res.Globals, Global{Record: s.res.Record, Offset: int64(s.op), Op: op, Name: full, Safe: k != notAllowed})
	if k == notAllowed {
		s.unsafe(op, full, whyUnsafe(module, name))
	}
	return sym{kind: symGlobal, text: full, gk: k}
}

func (s *scanner) run() error {
	if len(s.data) > MaxPickleSize {
		return s.fail("pickle of %d bytes exceeds the %d-byte limit", len(s.data), MaxPickleSize)
	}
	for s.pos < len(s.data) {
		if s.frameEnd >= 0 && s.pos >= s.frameEnd {
			s.frameEnd = -1
		}
		s.op = s.pos
		code := s.data[s.pos]
		s.pos++
		info := opcodes[code]
		if info == nil {
			s.opName = fmt.Sprintf("0x%02x", code)
			return s.fail("unknown opcode 0x%02x", code)
		}
		s.opName = info.name
		if !info.allowed && code != 'i' && code != 'o' && code != 0x92 {
			// Never run by the VM; INST, OBJ and NEWOBJ_EX are findings,
			// which it runs as inert calls under AllowUnsafe.
			s.stopVM(nil)
		}
		arg, raw, err := s.operand(info)
		if err != nil {
			return err
		}
		findings := len(s.res.Findings)
		if err := s.step(code, info, arg, raw); err != nil {
			return err
		}
		if !info.allowed && len(s.res.Findings) == findings && s.res.disallowed == 0 {
			s.res.disallowed, s.res.disallowedAt = code, int64(s.op)
		}
		if code == '.' {
			if s.frameEnd >= 0 && s.pos < s.frameEnd {
				return s.ambiguous("STOP leaves %d bytes of the frame that ends at offset %d unread; the frame length disagrees with its content, and a file unpickler would go on from the frame's end", s.frameEnd-s.pos, s.frameEnd)
			}
			s.res.End = int64(s.pos)
			return s.softErr
		}
	}
	s.op = s.pos
	s.res.short = true
	return s.fail("pickle ends without STOP")
}

// operand reads the argument of info: integers come back in arg, byte
// strings and lines in raw.
func (s *scanner) operand(info *opInfo) (arg uint64, raw []byte, err error) {
	var b []byte
	switch info.arg {
	case argNone:
	case argU8:
		b, err = s.need(1)
		if err == nil {
			arg = uint64(b[0])
		}
	case argU16:
		b, err = s.need(2)
		if err == nil {
			arg = uint64(binary.LittleEndian.Uint16(b))
		}
	case argU32:
		b, err = s.need(4)
		if err == nil {
			arg = uint64(binary.LittleEndian.Uint32(b))
		}
	case argF64, argU64:
		b, err = s.need(8)
		if err == nil {
			arg = binary.LittleEndian.Uint64(b)
		}
	case argLine:
		raw, err = s.line()
	case argTwoLine:
		start := s.pos
		if _, err = s.line(); err == nil {
			_, err = s.line()
		}
		if err == nil {
			raw = s.data[start : s.pos-1 : s.pos-1]
		}
	case argLen1, argLen4, argLen8:
		width := uint64(1)
		switch info.arg {
		case argLen4:
			width = 4
		case argLen8:
			width = 8
		}
		if b, err = s.need(width); err != nil {
			return
		}
		var n uint64
		switch width {
		case 1:
			n = uint64(b[0])
		case 4:
			n = uint64(binary.LittleEndian.Uint32(b))
		default:
			n = binary.LittleEndian.Uint64(b)
		}
		raw, err = s.need(n)
	}
	return
}

func (s *scanner) step(code byte, info *opInfo, arg uint64, raw []byte) error {
	name := info.name
	switch code {
	case 0x80: // PROTO
		if arg > 5 {
			return s.fail("unknown pickle protocol %d", arg)
		}
		if s.op != 0 {
			// CPython takes it anywhere and only notes the protocol.
			s.soft("PROTO not at the start of the pickle")
			return nil
		}
		s.res.Protocol = int(arg)
		return nil
	case 0x95: // FRAME: protocol 4 framing, no stack effect
		if s.frameEnd >= 0 && s.pos < s.frameEnd {
			return s.ambiguous("FRAME inside an unfinished frame (it ends at offset %d); CPython's file unpickler drops the rest of the outer frame and starts this one at offset %d", s.frameEnd, s.frameEnd)
		}
		if arg > uint64(len(s.data)-s.pos) {
			s.res.short = true
			return s.fail("FRAME of %d bytes runs past the end of the pickle", arg)
		}
		if arg > 0 {
			s.frameEnd = s.pos + int(arg)
		}
		return nil
	case '(':
		if s.nmarks == maxMarkDepth {
			s.soft("MARKs nested deeper than %d", maxMarkDepth)
		}
		if n := len(s.marks); n > 0 && s.marks[n-1].h == len(s.stack) {
			s.marks[n-1].n++
		} else if n >= maxStack {
			return s.ambiguous("more than %d MARKs; embtool does not follow the pickle further, CPython would", maxStack)
		} else {
			s.marks = append(s.marks, markRun{h: len(s.stack), n: 1})
		}
		s.nmarks++
		return nil
	case '.':
		x, err := s.pop(name)
		if err != nil {
			return err
		}
		if s.live() {
			s.vm.result, s.vm.ran = x.value(), true
		}
		return nil
	case '0':
		// CPython's POP removes the last MARK when nothing was pushed
		// after it.
		if len(s.marks) > 0 && s.base() == len(s.stack) {
			s.dropMark()
			return nil
		}
		_, err := s.pop(name)
		return err
	case '1':
		_, err := s.popMark(name)
		return err
	case '2':
		x, err := s.top(name)
		if err != nil {
			return err
		}
		return s.push(x)
	case 'X', 0x8c, 0x8d:
		// CPython decodes with surrogatepass: invalid UTF-8 still makes a
		// str (kept as its bytes here, which no allowed name matches).
		return s.push(sym{kind: symStr, text: string(raw)})
	case 'V':
		t, r := unicodeText(raw)
		if err := s.text(r); err != nil {
			return err
		}
		return s.push(sym{kind: symStr, text: t})
	case 'S':
		t, r := stringText(raw)
		if err := s.text(r); err != nil {
			return err
		}
		return s.push(sym{kind: symStr, text: t})
	case 'I', 'L', 'F':
		if err := s.text(numberText(code, raw)); err != nil {
			return err
		}
		return s.push(sym{kind: symOther})
	case 'U', 'T', 0x96:
		// Python 2 str / bytes: a storage typename may arrive as bytes.
		return s.push(sym{kind: symStr, text: string(raw)})
	case 'C', 'B', 0x8e:
		// Python 3 bytes: the VM holds them as []byte, which cannot be a
		// key of its OrderedDict or sets (see countItems).
		return s.push(sym{kind: symBytes, text: string(raw)})
	case 0x8a:
		if len(raw) == 0 {
			// Python reads it as 0, but CPython never writes it (and
			// gopickle, embtool's earlier VM, could not decode it).
			s.soft("LONG1 of no bytes")
		}
		x := sym{kind: symOther}
		if s.live() {
			x.v = decodeLong(raw)
		}
		return s.push(x)
	case '}', 'd':
		x := sym{kind: symDict}
		if s.live() {
			x.v = &vDict{}
		}
		if code == 'd' {
			items, err := s.popMark(name)
			if err != nil {
				return err
			}
			if len(items)%2 != 0 {
				return s.fail("DICT with an odd number of items")
			}
			if s.live() {
				for i := 0; i < len(items); i += 2 {
					x.v.(*vDict).set(items[i].value(), items[i+1].value())
				}
			}
		}
		return s.push(x)
	case ']', 'l':
		x := sym{kind: symList}
		if code == 'l' {
			items, err := s.popMark(name)
			if err != nil {
				return err
			}
			if s.live() {
				x.v = &vList{items: values(items)}
			}
		} else if s.live() {
			x.v = &vList{}
		}
		return s.push(x)
	case ')':
		x := sym{kind: symTuple}
		if s.live() {
			x.v = s.vm.emptyTuple()
		}
		return s.push(x)
	case 't', 0x91:
		items, err := s.popMark(name)
		if err != nil {
			return err
		}
		if code == 0x91 {
			return s.push(sym{kind: symSet})
		}
		return s.push(s.tuple(items))
	case 0x85, 0x86, 0x87:
		n := int(code - 0x84)
		if len(s.stack)-s.base() < n {
			return s.fail("%s on a stack of %d items", name, len(s.stack)-s.base())
		}
		var buf [3]sym
		items := buf[:copy(buf[:], s.stack[len(s.stack)-n:])]
		s.stack = s.stack[:len(s.stack)-n]
		return s.push(s.tuple(items))
	case 0x8f:
		x := sym{kind: symSet}
		if s.live() {
			x.v = &vSet{}
		}
		return s.push(x)
	case 'a':
		x, err := s.pop(name)
		if err != nil {
			return err
		}
		if err := s.expectTop(name, symList); err != nil {
			return err
		}
		s.vmAppend(x)
		return nil
	case 'e':
		items, err := s.popMark(name)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			// CPython checks nothing about the target of an empty APPENDS.
			_, err := s.top(name)
			return err
		}
		if err := s.expectTop(name, symList); err != nil {
			return err
		}
		s.vmAppend(items...)
		return nil
	case 's':
		v, err := s.pop(name)
		if err != nil {
			return err
		}
		key, err := s.pop(name)
		if err != nil {
			return err
		}
		if err := s.countItems(name, []sym{key}, 1); err != nil {
			return err
		}
		s.vmSetItems(key, v)
		return nil
	case 'u':
		items, err := s.popMark(name)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			_, err := s.top(name)
			return err
		}
		if len(items)%2 != 0 {
			return s.fail("SETITEMS with an odd number of items (%d)", len(items))
		}
		if err := s.countItems(name, items, 2); err != nil {
			return err
		}
		s.vmSetItems(items...)
		return nil
	case 0x90:
		items, err := s.popMark(name)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			_, err := s.top(name)
			return err
		}
		for _, x := range items {
			if x.kind == symBytes {
				s.soft("ADDITEMS of a bytes item, which embtool cannot hold in a set")
			}
		}
		if err := s.expectTop(name, symSet); err != nil {
			return err
		}
		if s.live() {
			if t, _ := s.top(name); t.kind != symSet || !isSet(t.v) {
				s.stopVM(fmt.Errorf("ADDITEMS to a %s", vmTypeName(t.value())))
			}
		}
		return nil
	case 'c', 'i':
		parts := bytes.SplitN(raw, []byte{'\n'}, 2)
		if code == 'i' && len(s.marks) == 0 {
			return s.fail("INST without a MARK")
		}
		bad, err := s.globalText(code, parts[0], parts[1])
		if err != nil {
			return err
		}
		var g sym
		module, gname := string(parts[0]), string(parts[1])
		if bad {
			g = s.unimportable(name, module, gname)
		} else {
			g = s.global(name, module, gname)
			s.vmGlobal(&g, module, gname)
		}
		if code == 'i' {
			items, err := s.popMark(name)
			if err != nil {
				return err
			}
			s.unsafe(name, g.text, "INST instantiates a class directly")
			x := sym{kind: symOther}
			if s.live() {
				x.v = s.vmResult(s.vm.instantiate(g.v, values(items)))
			}
			return s.push(x)
		}
		return s.push(g)
	case 0x93: // STACK_GLOBAL
		n, err := s.pop(name)
		if err != nil {
			return err
		}
		m, err := s.pop(name)
		if err != nil {
			return err
		}
		if n.kind != symStr || m.kind != symStr {
			return s.fail("STACK_GLOBAL needs two strings, got %s and %s", m.kind, n.kind)
		}
		bad, err := s.moduleText(m.text)
		if err != nil {
			return err
		}
		if bad {
			return s.push(s.unimportable(name, m.text, n.text))
		}
		g := s.global(name, m.text, n.text)
		s.vmGlobal(&g, m.text, n.text)
		return s.push(g)
	case 'o':
		items, err := s.popMark(name)
		if err != nil {
			return err
		}
		target := "<unknown>"
		if len(items) > 0 && items[0].kind == symGlobal {
			target = items[0].text
		}
		s.unsafe(name, target, "OBJ instantiates a class directly")
		x := sym{kind: symOther}
		if s.live() {
			if len(items) == 0 {
				s.stopVM(fmt.Errorf("OBJ without a class"))
			} else {
				x.v = s.vmResult(s.vm.instantiate(items[0].value(), values(items[1:])))
			}
		}
		return s.push(x)
	case 0x82, 0x83, 0x84:
		// copyreg's extension registry is empty in CPython and torch
		// (nothing calls copyreg.add_extension), so CPython raises
		// ValueError here and reads no further.
		return s.fail("%s code %d: the copyreg extension registry is empty, CPython raises ValueError", name, arg)
	case 'R':
		return s.reduce()
	case 0x81, 0x92:
		return s.newobj(code)
	case 'b':
		return s.build()
	case 'Q':
		id, err := s.pop(name)
		if err != nil {
			return err
		}
		x := sym{kind: symStorage}
		if id.kind == symGlobal {
			// A legacy ('module', cls, file, source) id: it stands for the class.
			x = id
		}
		x.v = nil
		if s.live() {
			x.v = s.vmResult(s.vm.persistent(id.value()))
		}
		return s.push(x)
	case 'P':
		return s.push(sym{kind: symStorage})
	case 'q', 'r', 'p':
		idx := arg
		if code == 'p' {
			v, r := memoIndexText(raw)
			if err := s.text(r); err != nil {
				return err
			}
			idx = v
		}
		return s.put(name, idx)
	case 0x94:
		return s.put(name, uint64(s.memo.len()))
	case 'h', 'j', 'g':
		idx := arg
		if code == 'g' {
			v, r := memoIndexText(raw)
			if err := s.text(r); err != nil {
				return err
			}
			idx = v
		}
		x, ok := s.memo.get(idx)
		if !ok {
			return s.fail("%s of memo index %d that was never stored", name, idx)
		}
		return s.push(x)
	case 0x97:
		// torch.load passes no buffers: CPython raises UnpicklingError.
		return s.fail("NEXT_BUFFER: out-of-band buffers are not data in the file, and CPython without buffers raises an error")
	case 0x98:
		_, err := s.top(name)
		return err
	}
	// Every remaining opcode pushes one plain value (ints, floats, None,
	// booleans).
	x := sym{kind: symOther}
	if s.live() {
		x.v = scalar(code, arg)
	}
	return s.push(x)
}

// tupleSym is a tuple; a legacy-format persistent id ('module', <class>,
// file, source) is remembered as its class, which BINPERSID then yields.
func tupleSym(items []sym) sym {
	if len(items) == 4 && items[0].kind == symStr && items[0].text == "module" && items[1].kind == symGlobal {
		return items[1]
	}
	return sym{kind: symTuple}
}

func (s *scanner) put(name string, idx uint64) error {
	x, err := s.top(name)
	if err != nil {
		return err
	}
	if !s.memo.has(idx) && s.memo.len() >= maxMemo {
		return s.ambiguous("the memo exceeds %d entries; embtool does not follow the pickle further, CPython would", maxMemo)
	}
	s.memo.put(idx, x)
	return nil
}

func (s *scanner) expectTop(name string, want symKind) error {
	x, err := s.top(name)
	if err != nil {
		return err
	}
	if x.kind != want {
		// CPython calls the target's append, extend or add, whatever it
		// is: the scan goes on.
		s.soft("%s on a %s, not a %s", name, x.kind, want)
	}
	return nil
}

// countItems checks the target of SETITEM(S) and counts its items: the
// keys are items[0], items[step], ….
func (s *scanner) countItems(name string, items []sym, step int) error {
	x, err := s.top(name)
	if err != nil {
		return err
	}
	if x.kind != symDict && x.kind != symODict {
		// CPython calls the target's __setitem__ (lists and tensors have
		// one): the scan goes on.
		s.soft("%s on a %s, not a dict", name, x.kind)
		return nil
	}
	if x.kind == symODict {
		for i := 0; i < len(items); i += step {
			if items[i].kind == symBytes {
				s.soft("%s of a bytes key into an OrderedDict, which embtool cannot hold", name)
			}
		}
	}
	s.dictItems += len(items) / step
	if s.dictItems > maxDictItems {
		s.soft("more than %d dict items", maxDictItems)
	}
	return nil
}

// reduce checks a REDUCE: the callable must be an allowed global that is
// meant to be called, with a tuple of arguments.
func (s *scanner) reduce() error {
	args, err := s.pop("REDUCE")
	if err != nil {
		return err
	}
	fn, err := s.pop("REDUCE")
	if err != nil {
		return err
	}
	x := s.reduced(fn, args)
	if s.live() {
		if t, ok := args.value().(*vTuple); ok {
			x.v = s.vmResult(s.vm.call(fn.value(), t.items))
		} else {
			s.stopVM(fmt.Errorf("REDUCE arguments are a %s, not a tuple", vmTypeName(args.value())))
		}
	}
	return s.push(x)
}

// reduced is what the scan knows of REDUCE's result.
func (s *scanner) reduced(fn, args sym) sym {
	if fn.kind != symGlobal {
		s.unsafe("REDUCE", "", fmt.Sprintf("calls a %s, not a named global", fn.kind))
		return sym{kind: symOther}
	}
	if fn.gk != notAllowed && args.kind != symTuple {
		s.soft("REDUCE arguments are a %s, not a tuple", args.kind)
		return sym{kind: symOther}
	}
	switch fn.gk {
	case kRebuildTensor, kRebuildParameter, kRebuildParameterWithState:
		return sym{kind: symTensor}
	case kOrderedDict:
		return sym{kind: symODict}
	case kSet:
		return sym{kind: symSet}
	case kInert:
		return sym{kind: symInert, text: fn.text}
	case notAllowed:
		// Already reported at the GLOBAL; name the call too, since that is
		// where the code would run.
		s.unsafe("REDUCE", fn.text, "would call it")
		return sym{kind: symOther}
	}
	s.soft("REDUCE calls %s, which is not callable data", fn.text)
	return sym{kind: symOther}
}

func (s *scanner) newobj(code byte) error {
	name := opcodes[code].name
	pops := 2
	if code == 0x92 {
		pops = 3
	}
	var popped [3]sym // kwargs (NEWOBJ_EX), args, class
	for i := 0; i < pops; i++ {
		x, err := s.pop(name)
		if err != nil {
			return err
		}
		popped[3-pops+i] = x
	}
	cls, args := popped[2], popped[1]
	var x sym
	switch {
	case code == 0x92:
		s.unsafe(name, cls.text, "NEWOBJ_EX is never used by torch.save")
		x = sym{kind: symOther}
	case cls.kind == symGlobal && cls.gk == kParameterDict:
		x = sym{kind: symPDict, text: cls.text}
	default:
		s.unsafe(name, cls.text, "instantiates a class that is not allowed")
		x = sym{kind: symOther}
	}
	if s.live() {
		t, ok := args.value().(*vTuple)
		switch {
		case !ok:
			s.stopVM(fmt.Errorf("%s arguments are a %s, not a tuple", name, vmTypeName(args.value())))
		case code == 0x92:
			// The keyword arguments are one more argument.
			x.v = s.vmResult(s.vm.newObj(cls.value(), len(t.items)+1))
		default:
			x.v = s.vmResult(s.vm.newObj(cls.value(), len(t.items)))
		}
	}
	return s.push(x)
}

func (s *scanner) build() error {
	state, err := s.pop("BUILD")
	if err != nil {
		return err
	}
	x, err := s.top("BUILD")
	if err != nil {
		return err
	}
	switch x.kind {
	case symPDict, symODict, symTensor, symInert:
	default:
		s.unsafe("BUILD", x.text, fmt.Sprintf("sets the state of a %s, which only code could use", x.kind))
	}
	if s.live() {
		if err := s.vm.build(x.value(), state.value()); err != nil {
			s.stopVM(err)
		}
	}
	return nil
}
