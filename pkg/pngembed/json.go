package pngembed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/embtool/embtool/internal/ordered"
	"github.com/embtool/embtool/pkg/tensor"
)

// Limits of the JSON decoder.
const (
	// MaxDepth is the deepest nesting of arrays and objects accepted. An
	// embedding needs five levels (root, string_to_param, the tensor object
	// and two list levels).
	MaxDepth = 64
	// MaxElements is the largest number of JSON values (numbers, strings,
	// literals, arrays and objects) accepted in one document. It bounds the
	// memory the decoded document takes; real embeddings hold a few
	// thousand to a few hundred thousand numbers.
	MaxElements = 1 << 22
)

// tensorKey is the key A1111's EmbeddingEncoder wraps tensors in.
const tensorKey = "TORCHTENSOR"

// Object is a JSON object with its keys in file order. A key given more
// than once keeps the position of its first occurrence and the value of
// its last, as a Python dict built by json.loads does.
type Object = ordered.Map[string, any]

// number is a JSON number while parsing: its float64 value and, for an
// integer literal (no '.', no exponent), whether it fits an int64 and its
// value as one.
type number struct {
	f     float64
	i     int64
	isInt bool
	fits  bool
}

// numList is an array whose elements are all numbers, held compactly.
type numList struct {
	f        []float64
	i        []int64 // valid while allInt
	allInt   bool
	overflow bool // an integer literal does not fit an int64
}

func (l *numList) add(n number) {
	l.f = append(l.f, n.f)
	if !l.allInt {
		return
	}
	if !n.isInt {
		l.allInt = false
		l.i = nil
		return
	}
	if !n.fits {
		l.overflow = true
	}
	l.i = append(l.i, n.i)
}

func (l *numList) toAny() []any {
	out := make([]any, len(l.f))
	for k, f := range l.f {
		out[k] = f
	}
	return out
}

// jsonError is a syntax or content error in the JSON document.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string {
	if e.off < 0 {
		return "json: " + e.msg
	}
	return fmt.Sprintf("json: %s at offset %d", e.msg, e.off)
}

type parser struct {
	data  []byte
	pos   int
	depth int
	count int
}

// parseJSON decodes a JSON document as A1111's embedding_from_b64 does
// (json.loads with the EmbeddingDecoder object hook). The root must be an
// object.
func parseJSON(data []byte) (*Object, error) {
	// json.loads of bytes strips a UTF-8 byte-order mark.
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		data = data[3:]
	}
	if len(data) >= 2 && (data[0] == 0 || data[1] == 0 || data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF) {
		return nil, &jsonError{-1, "UTF-16 and UTF-32 documents are not supported"}
	}
	if !utf8.Valid(data) {
		return nil, &jsonError{-1, "document is not valid UTF-8"}
	}
	p := &parser{data: data}
	p.skipWS()
	start := p.pos
	v, _, isNum, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if p.pos != len(p.data) {
		return nil, p.errf("extra data after the document")
	}
	root, ok := v.(*Object)
	if !ok {
		what := describe(v)
		if isNum {
			what = "a number"
		}
		return nil, &jsonError{start, "document is " + what + ", not an object"}
	}
	return root, nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case number, float64:
		return "a number"
	case []any, *numList:
		return "an array"
	case *Object:
		return "an object"
	case *tensor.Tensor:
		return "a tensor"
	}
	return fmt.Sprintf("%T", v)
}

func (p *parser) errf(format string, args ...any) error {
	return &jsonError{p.pos, fmt.Sprintf(format, args...)}
}

func (p *parser) skipWS() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) literal(word string) bool {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return true
	}
	return false
}

// value parses one value at p.pos (whitespace already skipped). A number
// is returned in n with isNum set; everything else in v.
func (p *parser) value() (v any, n number, isNum bool, err error) {
	p.count++
	if p.count > MaxElements {
		return nil, n, false, p.errf("more than %d values", MaxElements)
	}
	if p.pos >= len(p.data) {
		return nil, n, false, p.errf("expected a value, found end of document")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		v, err = p.object()
		return v, n, false, err
	case c == '[':
		v, err = p.array()
		return v, n, false, err
	case c == '"':
		v, err = p.str()
		return v, n, false, err
	case c == 'n' && p.literal("null"):
		return nil, n, false, nil
	case c == 't' && p.literal("true"):
		return true, n, false, nil
	case c == 'f' && p.literal("false"):
		return false, n, false, nil
	case c == 'N' && p.literal("NaN"):
		return nil, number{f: math.NaN()}, true, nil
	case c == 'I' && p.literal("Infinity"):
		return nil, number{f: math.Inf(1)}, true, nil
	case c == '-' && p.literal("-Infinity"):
		return nil, number{f: math.Inf(-1)}, true, nil
	case c == '-' || ('0' <= c && c <= '9'):
		n, err = p.number()
		return nil, n, err == nil, err
	}
	return nil, n, false, p.errf("expected a value, found %q", p.data[p.pos])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number parses -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?, the grammar
// of Python's json scanner.
func (p *parser) number() (number, error) {
	start := p.pos
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		p.pos = i
		return number{}, p.errf("malformed number")
	}
	isInt := true
	if i+1 < len(d) && d[i] == '.' && isDigit(d[i+1]) {
		isInt = false
		i++
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		j := i + 1
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if j < len(d) && isDigit(d[j]) {
			isInt = false
			i = j
			for i < len(d) && isDigit(d[i]) {
				i++
			}
		}
	}
	p.pos = i
	s := string(d[start:i])
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		// Unreachable for the grammar above; keep the parser total.
		return number{}, &jsonError{start, "malformed number " + strconv.Quote(s)}
	}
	// Out of range: ParseFloat returns ±Inf (overflow) or ±0 (underflow),
	// as Python's float() does.
	n := number{f: f, isInt: isInt}
	if isInt {
		iv, err := strconv.ParseInt(s, 10, 64)
		n.i, n.fits = iv, err == nil
		if n.fits {
			n.f = float64(iv) // a Python int: -0 is 0
		}
	}
	return n, nil
}

// str parses a string as Python's json scanner does in strict mode: no raw
// control characters, the JSON escapes, \uXXXX with surrogate pairs
// combined. A lone surrogate, which Python keeps, becomes U+FFFD.
func (p *parser) str() (string, error) {
	d := p.data
	p.pos++ // opening quote
	// Fast path: no escapes.
	for i := p.pos; i < len(d); i++ {
		c := d[i]
		if c == '"' {
			s := string(d[p.pos:i])
			p.pos = i + 1
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			p.pos = i
			return "", p.errf("invalid control character in string")
		}
	}
	var buf []byte
	for {
		if p.pos >= len(d) {
			return "", p.errf("unterminated string")
		}
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errf("invalid control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(d) {
			return "", p.errf("unterminated string")
		}
		e := d[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4(p.pos)
			if !ok {
				return "", p.errf("invalid \\u escape")
			}
			p.pos += 4
			if utf16.IsSurrogate(r) && r < 0xDC00 && p.pos+6 <= len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
				if r2, ok := p.hex4(p.pos + 2); ok && 0xDC00 <= r2 && r2 <= 0xDFFF {
					r = utf16.DecodeRune(r, r2)
					p.pos += 6
				}
			}
			buf = utf8.AppendRune(buf, r) // a lone surrogate is written as U+FFFD
		default:
			p.pos -= 2
			return "", p.errf("invalid escape \\%c in string", e)
		}
	}
}

func (p *parser) hex4(at int) (rune, bool) {
	if at+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[at : at+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errf("nesting deeper than %d levels", MaxDepth)
	}
	return nil
}

// array parses an array. An array of numbers only (including the empty
// array) is returned as a *numList, anything else as []any.
func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos++ // '['
	nl := &numList{allInt: true}
	var gen []any // non-nil once a non-number element is seen
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return nl, nil
	}
	for {
		p.skipWS()
		v, n, isNum, err := p.value()
		if err != nil {
			return nil, err
		}
		switch {
		case isNum && gen == nil:
			nl.add(n)
		case isNum:
			gen = append(gen, n.f)
		default:
			if gen == nil {
				gen = nl.toAny()
				nl = nil
			}
			gen = append(gen, v)
		}
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.errf("unterminated array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			if gen != nil {
				return gen, nil
			}
			return nl, nil
		default:
			return nil, p.errf("expected ',' or ']' in array, found %q", p.data[p.pos])
		}
	}
}

// object parses an object. One holding a TORCHTENSOR key is returned as a
// *tensor.Tensor, as A1111's object hook does; any other as an *Object.
func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	start := p.pos
	p.pos++ // '{'
	o := &Object{}
	var index map[string]int
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return o, nil
	}
	for {
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errf("expected a string key in object")
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errf("expected ':' after object key")
		}
		p.pos++
		p.skipWS()
		v, n, isNum, err := p.value()
		if err != nil {
			return nil, err
		}
		if isNum {
			v = n // keep integer-ness until we know whether this is a tensor
		}
		if index == nil {
			index = make(map[string]int)
		}
		if k, dup := index[key]; dup {
			o.Values[k] = v
		} else {
			index[key] = len(o.Keys)
			o.Append(key, v)
		}
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.errf("unterminated object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			continue
		case '}':
			p.pos++
		default:
			return nil, p.errf("expected ',' or '}' in object, found %q", p.data[p.pos])
		}
		break
	}
	if k, ok := index[tensorKey]; ok {
		t, err := toTensor(o.Values[k])
		if err != nil {
			return nil, &jsonError{start, "object with " + tensorKey + ": " + err.Error()}
		}
		return t, nil
	}
	for k, v := range o.Values {
		o.Values[k] = finalize(v)
	}
	return o, nil
}

// finalize turns the parser's compact forms (number, *numList) into the
// public ones (float64, []any). Objects are final when they close.
func finalize(v any) any {
	switch x := v.(type) {
	case number:
		return x.f
	case *numList:
		return x.toAny()
	case []any:
		for k, e := range x {
			x[k] = finalize(e)
		}
	}
	return v
}

// toTensor converts the value of a TORCHTENSOR key the way
// torch.from_numpy(np.array(value)) does: a number gives a 0-dim tensor,
// rectangular nested lists of numbers give a tensor of that shape; int64
// when every number is an integer literal, float64 otherwise.
func toTensor(v any) (*tensor.Tensor, error) {
	var shape []int
	// Find the shape from the first element at each level.
	cur := v
	for {
		switch x := cur.(type) {
		case number:
			return buildTensor(nil, &numList{f: []float64{x.f}, i: []int64{x.i}, allInt: x.isInt, overflow: x.isInt && !x.fits})
		case *numList:
			shape = append(shape, len(x.f))
		case []any:
			if len(x) == 0 { // not produced by the parser: empty arrays are *numList
				return nil, errors.New("empty list")
			}
			shape = append(shape, len(x))
			cur = x[0]
			continue
		case float64:
			return nil, errors.New("ragged nested list: numbers beside lists")
		default:
			return nil, fmt.Errorf("non-numeric element (%s)", describe(x))
		}
		break
	}
	n, err := tensor.NumElements(shape)
	if err != nil || n > MaxElements {
		return nil, fmt.Errorf("shape %v too large", shape)
	}
	flat := &numList{f: make([]float64, 0, n), i: make([]int64, 0, n), allInt: true}
	if err := gather(v, shape, flat); err != nil {
		return nil, err
	}
	return buildTensor(shape, flat)
}

// gather appends the numbers of v, which must have exactly shape, to flat.
func gather(v any, shape []int, flat *numList) error {
	switch x := v.(type) {
	case *numList:
		if len(shape) != 1 {
			return fmt.Errorf("ragged nested list: a list of %d numbers where lists nest %d levels deeper", len(x.f), len(shape)-1)
		}
		if len(x.f) != shape[0] {
			return fmt.Errorf("ragged nested list: length %d, expected %d", len(x.f), shape[0])
		}
		flat.f = append(flat.f, x.f...)
		if flat.allInt && !x.allInt {
			flat.allInt = false
			flat.i = nil
		}
		if flat.allInt {
			flat.i = append(flat.i, x.i...)
			flat.overflow = flat.overflow || x.overflow
		}
		return nil
	case []any:
		if len(shape) < 2 {
			for _, e := range x {
				switch e.(type) {
				case []any, *numList:
					return fmt.Errorf("ragged nested list: a list where a number was expected")
				case float64:
				default:
					return fmt.Errorf("non-numeric element (%s)", describe(e))
				}
			}
			return errors.New("ragged nested list")
		}
		if len(x) != shape[0] {
			return fmt.Errorf("ragged nested list: length %d, expected %d", len(x), shape[0])
		}
		for _, e := range x {
			if err := gather(e, shape[1:], flat); err != nil {
				return err
			}
		}
		return nil
	case number, float64:
		return errors.New("ragged nested list: a number where a list was expected")
	}
	return fmt.Errorf("non-numeric element (%s)", describe(v))
}

func buildTensor(shape []int, flat *numList) (*tensor.Tensor, error) {
	if shape == nil {
		shape = []int{}
	}
	if flat.allInt && len(flat.f) > 0 {
		if flat.overflow {
			return nil, errors.New("integer literal out of int64 range")
		}
		data := make([]byte, 8*len(flat.i))
		for k, iv := range flat.i {
			binary.LittleEndian.PutUint64(data[8*k:], uint64(iv))
		}
		return tensor.New(tensor.I64, shape, data)
	}
	data := make([]byte, 8*len(flat.f))
	for k, f := range flat.f {
		binary.LittleEndian.PutUint64(data[8*k:], tensor.F64Bits(f))
	}
	return tensor.New(tensor.F64, shape, data)
}
