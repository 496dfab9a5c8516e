package safetensors

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/embtool/embtool/pkg/tensor"
)

// maxDepth is serde_json's recursion limit: the reference reader fails on the
// 128th nested array or object (the header object itself counts as one).
const maxDepth = 128

// maxUnambiguousFloat is the magnitude from which a JSON number is refused:
// at and above it, whether the number overflows float64 depends on how the
// reader rounds (see parser.number).
const maxUnambiguousFloat = 1e308

// metadataKey is the reserved top-level key holding the string→string map.
const metadataKey = "__metadata__"

// rawEntry is a tensor entry as it is written in the header, before the
// offsets are checked.
type rawEntry struct {
	name       string
	dtype      tensor.DType
	shape      []uint64
	begin, end uint64
}

// header is the parsed header JSON.
type header struct {
	metadata map[string]string // nil when absent or null
	entries  []rawEntry        // in the order written
}

// syntaxError is a problem found at a byte offset of the header JSON; Open
// turns it into an ErrFormat error naming the file offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// parser is a strict JSON parser for the one document shape a safetensors
// header has. It accepts exactly RFC 8259 JSON as serde_json does (leading
// and trailing whitespace of the four JSON kinds only, no comments, no
// trailing commas, no lone surrogates, numbers finite as float64), rejects
// every duplicate object key and every number whose overflow depends on
// rounding, and never recurses deeper than maxDepth.
type parser struct {
	b     []byte
	i     int
	depth int
}

func (p *parser) errorf(off int, format string, args ...any) error {
	return &syntaxError{off: off, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// end is what peek returns at the end of the header. It is not a byte value:
// a NUL byte in the header is a byte like any other, not the end of input
// (serde_json reads it as a trailing character and fails).
const end = -1

// peek returns the next byte after whitespace, or end at the end.
func (p *parser) peek() int {
	p.ws()
	if p.i >= len(p.b) {
		return end
	}
	return int(p.b[p.i])
}

// describe names what is at p.i, for "expected X, found Y" messages.
func (p *parser) describe() string {
	if p.i >= len(p.b) {
		return "end of header"
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == '-' || '0' <= c && c <= '9':
		return "a number"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	default:
		r, _ := utf8.DecodeRune(p.b[p.i:])
		return strconv.QuoteRune(r)
	}
}

func (p *parser) expect(c int, what string) error {
	if p.peek() != c {
		return p.errorf(p.i, "expected %s, found %s", what, p.describe())
	}
	p.i++
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth >= maxDepth {
		return p.errorf(p.i, "JSON nested deeper than %d levels", maxDepth-1)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseHeader parses the whole header JSON.
func parseHeader(b []byte) (*header, error) {
	p := &parser{b: b}
	h := &header{}
	if p.peek() != '{' {
		if p.i >= len(p.b) {
			return nil, p.errorf(p.i, "header is empty, expected a JSON object")
		}
		return nil, p.errorf(p.i, "header is not a JSON object: found %s", p.describe())
	}
	err := p.object(func(key string, keyAt int) error {
		if key == metadataKey {
			m, err := p.metadata()
			if err != nil {
				return err
			}
			h.metadata = m
			return nil
		}
		e, err := p.entry(key, keyAt)
		if err != nil {
			return err
		}
		h.entries = append(h.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// serde_json's from_str allows only its four whitespace bytes (space,
	// tab, LF, CR) after the value; p.peek skipped exactly those. Anything
	// else, NUL included, is a trailing character the reference refuses.
	if p.peek() != end {
		return nil, p.errorf(p.i, "unexpected %s after the header object (only JSON whitespace may pad the header)", p.describe())
	}
	return h, nil
}

// object parses an object at p.i, calling member with each key (duplicates
// rejected) positioned at the start of its value; member must consume the
// value.
func (p *parser) object(member func(key string, keyAt int) error) error {
	if err := p.expect('{', "'{'"); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	seen := map[string]bool{}
	if p.peek() == '}' {
		p.i++
		p.leave()
		return nil
	}
	for {
		if p.peek() != '"' {
			return p.errorf(p.i, "expected a string key, found %s", p.describe())
		}
		keyAt := p.i
		key, err := p.str()
		if err != nil {
			return err
		}
		if seen[key] {
			return p.errorf(keyAt, "duplicate key %q", key)
		}
		seen[key] = true
		if err := p.expect(':', "':'"); err != nil {
			return err
		}
		p.ws()
		if err := member(key, keyAt); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			p.leave()
			return nil
		default:
			return p.errorf(p.i, "expected ',' or '}', found %s", p.describe())
		}
	}
}

// array parses an array at p.i, calling elem positioned at each element.
func (p *parser) array(elem func(i int) error) error {
	if err := p.expect('[', "'['"); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	if p.peek() == ']' {
		p.i++
		p.leave()
		return nil
	}
	for n := 0; ; n++ {
		p.ws()
		if err := elem(n); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			p.leave()
			return nil
		default:
			return p.errorf(p.i, "expected ',' or ']', found %s", p.describe())
		}
	}
}

// metadata parses the __metadata__ value: an object of strings, or null
// (which serde's Option reads as absent).
func (p *parser) metadata() (map[string]string, error) {
	switch p.peek() {
	case 'n':
		if err := p.literal("null"); err != nil {
			return nil, err
		}
		return nil, nil
	case '{':
	default:
		return nil, p.errorf(p.i, "%s must be an object of strings, found %s", metadataKey, p.describe())
	}
	m := map[string]string{}
	err := p.object(func(key string, _ int) error {
		if p.peek() != '"' {
			return p.errorf(p.i, "%s key %q: value must be a string, found %s", metadataKey, key, p.describe())
		}
		v, err := p.str()
		if err != nil {
			return err
		}
		m[key] = v
		return nil
	})
	return m, err
}

// entry parses one tensor entry: {"dtype", "shape", "data_offsets"} plus any
// unknown fields, which are checked for syntax and ignored.
func (p *parser) entry(name string, keyAt int) (rawEntry, error) {
	e := rawEntry{name: name}
	if p.peek() != '{' {
		return e, p.errorf(p.i, "tensor %q: entry must be an object, found %s", name, p.describe())
	}
	var haveDType, haveShape, haveOffsets bool
	err := p.object(func(key string, _ int) error {
		switch key {
		case "dtype":
			haveDType = true
			at := p.i
			if p.peek() != '"' {
				return p.errorf(p.i, "tensor %q: dtype must be a string, found %s", name, p.describe())
			}
			s, err := p.str()
			if err != nil {
				return err
			}
			e.dtype = tensor.DType(s)
			if !e.dtype.Known() {
				return p.errorf(at, "tensor %q: unknown dtype %q", name, s)
			}
		case "shape":
			haveShape = true
			if p.peek() != '[' {
				return p.errorf(p.i, "tensor %q: shape must be an array, found %s", name, p.describe())
			}
			e.shape = []uint64{}
			return p.array(func(int) error {
				d, err := p.uint(name, "shape")
				e.shape = append(e.shape, d)
				return err
			})
		case "data_offsets":
			haveOffsets = true
			at := p.i
			if p.peek() != '[' {
				return p.errorf(p.i, "tensor %q: data_offsets must be an array, found %s", name, p.describe())
			}
			var offs [2]uint64
			n := 0
			err := p.array(func(i int) error {
				if i >= 2 {
					return p.errorf(p.i, "tensor %q: data_offsets has more than 2 elements", name)
				}
				v, err := p.uint(name, "data_offsets")
				offs[i] = v
				n++
				return err
			})
			if err != nil {
				return err
			}
			if n != 2 {
				return p.errorf(at, "tensor %q: data_offsets has %d elements, want 2", name, n)
			}
			e.begin, e.end = offs[0], offs[1]
		default:
			return p.skip()
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	switch {
	case !haveDType:
		return e, p.errorf(keyAt, "tensor %q: missing dtype", name)
	case !haveShape:
		return e, p.errorf(keyAt, "tensor %q: missing shape", name)
	case !haveOffsets:
		return e, p.errorf(keyAt, "tensor %q: missing data_offsets", name)
	}
	return e, nil
}

// uint parses a JSON number that must be a non-negative integer fitting in
// a uint64, as serde reads a usize: "-0", "1.0" and "1e3" are floats to
// serde and rejected.
func (p *parser) uint(name, field string) (uint64, error) {
	at := p.i
	if c := p.peek(); !(c == '-' || '0' <= c && c <= '9') {
		return 0, p.errorf(p.i, "tensor %q: %s must hold integers, found %s", name, field, p.describe())
	}
	tok, isInt, err := p.number()
	if err != nil {
		return 0, err
	}
	if !isInt || tok[0] == '-' {
		return 0, p.errorf(at, "tensor %q: %s value %s is not a non-negative integer", name, field, tok)
	}
	v, err := strconv.ParseUint(tok, 10, 64)
	if err != nil {
		return 0, p.errorf(at, "tensor %q: %s value %s does not fit in 64 bits", name, field, tok)
	}
	return v, nil
}

// number scans a JSON number at p.i and reports whether it is written as an
// integer (no fraction, no exponent). Numbers whose value overflows float64
// are rejected, as serde_json does.
func (p *parser) number() (tok string, isInt bool, err error) {
	start := p.i
	b := p.b
	i := p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
		if i < len(b) && '0' <= b[i] && b[i] <= '9' {
			return "", false, p.errorf(i, "invalid number: leading zero")
		}
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		digits()
	default:
		return "", false, p.errorf(i, "invalid number")
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if digits() == 0 {
			return "", false, p.errorf(i, "invalid number: no digits after '.'")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", false, p.errorf(i, "invalid number: no digits in exponent")
		}
	}
	p.i = i
	tok = string(b[start:i])
	if !isInt || len(tok) > 19 {
		v, perr := strconv.ParseFloat(tok, 64)
		if perr != nil {
			if ne, ok := perr.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				// ParseFloat reports ErrRange only for overflow to ±Inf
				// in practice; underflow rounds to zero quietly.
				return "", false, p.errorf(start, "number %.40s out of range", tok)
			}
			return "", false, p.errorf(start, "invalid number %.40s", tok)
		}
		// serde_json (without its float_roundtrip feature) computes
		// significand × 10^exp in float64 steps and fails when that
		// overflows, so near MaxFloat64 it can fail where a correctly
		// rounded parse does not. Below 1e308 neither fails.
		if math.Abs(v) >= maxUnambiguousFloat {
			return "", false, p.errorf(start, "number %.40s is too close to the float64 limit: JSON readers disagree on whether it overflows", tok)
		}
	}
	return tok, isInt, nil
}

// literal consumes the exact word w (true, false, null).
func (p *parser) literal(w string) error {
	if len(p.b)-p.i < len(w) || string(p.b[p.i:p.i+len(w)]) != w {
		return p.errorf(p.i, "invalid literal, expected %s", w)
	}
	p.i += len(w)
	return nil
}

// skip checks and discards any JSON value at p.i.
func (p *parser) skip() error {
	switch c := p.peek(); {
	case c == '{':
		return p.object(func(string, int) error { return p.skip() })
	case c == '[':
		return p.array(func(int) error { return p.skip() })
	case c == '"':
		_, err := p.str()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		_, _, err := p.number()
		return err
	default:
		return p.errorf(p.i, "expected a JSON value, found %s", p.describe())
	}
}

// str parses a string at p.i (which is '"'). The input is known to be valid
// UTF-8; escapes are decoded, raw control characters and lone surrogate
// escapes are rejected as serde_json rejects them.
func (p *parser) str() (string, error) {
	start := p.i
	p.i++ // opening quote
	b := p.b
	// Fast path: no escapes.
	for j := p.i; j < len(b); j++ {
		c := b[j]
		if c == '"' {
			s := string(b[p.i:j])
			p.i = j + 1
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	var out []byte
	for {
		if p.i >= len(b) {
			return "", p.errorf(start, "unterminated string")
		}
		c := b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", p.errorf(p.i, "control character 0x%02x in string", c)
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		// Escape.
		at := p.i
		p.i++
		if p.i >= len(b) {
			return "", p.errorf(start, "unterminated string")
		}
		e := b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := p.hex4(at)
			if err != nil {
				return "", err
			}
			switch {
			case 0xDC00 <= r && r <= 0xDFFF:
				return "", p.errorf(at, "lone surrogate \\u%04x in string", r)
			case 0xD800 <= r && r <= 0xDBFF:
				if p.i+1 >= len(b) || b[p.i] != '\\' || b[p.i+1] != 'u' {
					return "", p.errorf(at, "lone surrogate \\u%04x in string", r)
				}
				at2 := p.i
				p.i += 2
				r2, err := p.hex4(at2)
				if err != nil {
					return "", err
				}
				if r2 < 0xDC00 || r2 > 0xDFFF {
					return "", p.errorf(at, "lone surrogate \\u%04x in string", r)
				}
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", p.errorf(at, "invalid escape \\%c in string", e)
		}
	}
}

// hex4 reads the four hex digits of a \u escape starting at p.i.
func (p *parser) hex4(at int) (rune, error) {
	if len(p.b)-p.i < 4 {
		return 0, p.errorf(at, "invalid \\u escape in string")
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, p.errorf(at, "invalid \\u escape in string")
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, nil
}
