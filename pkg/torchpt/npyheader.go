package torchpt

import "bytes"

// plainNPYHeader reports whether h is the header numpy's own writer
// (_write_array_header) gives an array of a plain, pickle-free dtype: the
// dict repr with its three keys in order, space padding and a newline.
// Only such a header is taken to mean "raw array bytes follow"; any other
// header, and any dtype holding objects, makes numpy.load(allow_pickle=True)
// unpickle what follows, so that is scanned as a pickle. It accepts
// exactly what this regexp matches (npyheader_test.go checks it against
// it; a hand parser spares every start of embtool the regexp's compiling):
//
//	^\{'descr': '[<>|=](?:b1|[iufc][1-9][0-9]*|[SUV][0-9]+|[Mm]8(?:\[[0-9]*[a-zA-Z]+\])?)',
//	'fortran_order': (?:True|False), 'shape': \((?:[0-9]+,|[0-9]+(?:, [0-9]+)+)?\), \} *\n$
//
// (one line, with a space after the first line's comma).
func plainNPYHeader(h []byte) bool {
	p := npyParser{h}
	if !p.lit("{'descr': '") || !p.oneOf("<>|=") || !p.dtype() ||
		!p.lit("', 'fortran_order': ") || !(p.lit("True") || p.lit("False")) ||
		!p.lit(", 'shape': (") || !p.shape() || !p.lit("), }") {
		return false
	}
	for p.lit(" ") {
	}
	return string(p.b) == "\n"
}

// npyParser consumes its bytes from the front; each method consumes
// what it matched and reports whether it matched (on false the bytes
// left are not to be used).
type npyParser struct{ b []byte }

func (p *npyParser) lit(s string) bool {
	if !bytes.HasPrefix(p.b, []byte(s)) {
		return false
	}
	p.b = p.b[len(s):]
	return true
}

func (p *npyParser) oneOf(set string) bool {
	if len(p.b) == 0 || bytes.IndexByte([]byte(set), p.b[0]) < 0 {
		return false
	}
	p.b = p.b[1:]
	return true
}

// span consumes the longest run of bytes in [lo, hi] and returns its
// length.
func (p *npyParser) span(lo, hi byte) int {
	n := 0
	for n < len(p.b) && lo <= p.b[n] && p.b[n] <= hi {
		n++
	}
	p.b = p.b[n:]
	return n
}

func (p *npyParser) letters() int {
	n := 0
	for n < len(p.b) && ('a' <= p.b[n] && p.b[n] <= 'z' || 'A' <= p.b[n] && p.b[n] <= 'Z') {
		n++
	}
	p.b = p.b[n:]
	return n
}

// dtype: b1 | [iufc][1-9][0-9]* | [SUV][0-9]+ | [Mm]8(\[[0-9]*[a-zA-Z]+\])?
func (p *npyParser) dtype() bool {
	switch {
	case p.lit("b1"):
		return true
	case p.oneOf("iufc"):
		if !p.oneOf("123456789") {
			return false
		}
		p.span('0', '9')
		return true
	case p.oneOf("SUV"):
		return p.span('0', '9') > 0
	case p.oneOf("Mm"):
		if !p.lit("8") {
			return false
		}
		if len(p.b) > 0 && p.b[0] == '[' {
			// The unit is optional, but what follows must be the
			// closing quote, which '[' is not: a bad unit fails.
			p.b = p.b[1:]
			p.span('0', '9')
			return p.letters() > 0 && p.lit("]")
		}
		return true
	}
	return false
}

// shape is what lies between the parentheses: nothing, "N," or
// "N, N[, N...]".
func (p *npyParser) shape() bool {
	if len(p.b) > 0 && p.b[0] == ')' {
		return true
	}
	if p.span('0', '9') == 0 {
		return false
	}
	more := 0
	for len(p.b) > 2 && p.b[0] == ',' && p.b[1] == ' ' && '0' <= p.b[2] && p.b[2] <= '9' {
		p.b = p.b[2:]
		p.span('0', '9')
		more++
	}
	if more == 0 {
		return p.lit(",")
	}
	return true
}
