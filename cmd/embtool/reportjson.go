package main

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/embtool/embtool/pkg/identify"
)

// appendReportJSON appends r as inspect --json writes it: the bytes
// encoding/json gives report (through its struct tags, without HTML
// escaping), written field by field with no reflection (a one-file
// inspect answers sooner). ok is false when a value has no JSON form (a
// non-finite float outside the norms, which encoding/json refuses); the
// caller then asks encoding/json, for its error. reportjson_test.go holds
// it to encoding/json.
func appendReportJSON(b []byte, r report) (_ []byte, ok bool) {
	j := jsonWriter{b: b}
	if r.Container == "" {
		kind := r.Kind
		if kind == "" {
			kind = string(identify.KindUnknown)
		}
		j.str(`{"path":`, r.Path)
		j.boolean(`,"ok":`, false)
		if r.Skipped {
			j.boolean(`,"skipped":`, true)
		}
		j.str(`,"kind":`, kind)
		j.str(`,"error":`, r.Error)
		j.strOmit(`,"sha256":`, r.SHA256)
		j.strOmit(`,"hash":`, r.Hash)
		if len(r.Unsafe) > 0 {
			j.strs(`,"unsafe":`, r.Unsafe)
		}
		j.b = append(j.b, '}')
		return j.b, !j.bad
	}
	j.str(`{"path":`, r.Path)
	j.boolean(`,"ok":`, r.OK)
	if r.Skipped {
		j.boolean(`,"skipped":`, true)
	}
	j.str(`,"kind":`, r.Kind)
	j.strOmit(`,"error":`, r.Error)
	j.strOmit(`,"name":`, r.Name)
	j.strPtr(`,"stored_name":`, r.StoredName)
	j.strOmit(`,"container":`, r.Container)
	j.strOmit(`,"layout":`, r.Layout)
	j.strOmit(`,"model":`, r.Model)
	j.integer(`,"vectors":`, int64(r.Vectors))
	j.integer(`,"width":`, int64(r.Width))
	j.strOmit(`,"token":`, r.Token)
	j.key(`,"tensors":`)
	if r.Tensors == nil {
		j.null()
	} else {
		j.b = append(j.b, '[')
		for i, t := range r.Tensors {
			if i > 0 {
				j.b = append(j.b, ',')
			}
			j.str(`{"key":`, t.Key)
			j.str(`,"dtype":`, t.DType)
			j.key(`,"shape":`)
			if t.Shape == nil {
				j.null()
			} else {
				j.b = append(j.b, '[')
				for k, n := range t.Shape {
					if k > 0 {
						j.b = append(j.b, ',')
					}
					j.b = strconv.AppendInt(j.b, int64(n), 10)
				}
				j.b = append(j.b, ']')
			}
			j.norms(`,"norms":`, t.Norms)
			j.b = append(j.b, '}')
		}
		j.b = append(j.b, ']')
	}
	j.summary(`,"norm":`, r.Norm)
	j.summary(`,"norm_clip_l":`, r.NormClipL)
	j.summary(`,"norm_clip_g":`, r.NormClipG)
	j.key(`,"step":`)
	if r.Step == nil {
		j.null()
	} else {
		j.b = strconv.AppendInt(j.b, *r.Step, 10)
	}
	j.strPtr(`,"sd_checkpoint":`, r.SDCheckpoint)
	j.strPtr(`,"sd_checkpoint_name":`, r.SDCheckpointName)
	if len(r.Metadata) > 0 {
		keys := make([]string, 0, len(r.Metadata))
		for k := range r.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys) // encoding/json sorts a map's keys
		j.key(`,"metadata":`)
		for i, k := range keys {
			sep := `,`
			if i == 0 {
				sep = `{`
			}
			j.str(sep, k)
			j.str(`:`, r.Metadata[k])
		}
		j.b = append(j.b, '}')
	}
	j.strOmit(`,"sha256":`, r.SHA256)
	j.strOmit(`,"hash":`, r.Hash)
	j.strPtr(`,"checksum":`, r.Checksum)
	if len(r.Unsafe) > 0 {
		j.strs(`,"unsafe":`, r.Unsafe)
	}
	j.strs(`,"warnings":`, r.Warnings)
	if len(r.Strength) > 0 {
		j.key(`,"strength":`)
		for i, s := range r.Strength {
			sep := `,`
			if i == 0 {
				sep = `[`
			}
			j.str(sep+`{"key":`, s.Key)
			j.str(`,"encoder":`, s.Encoder)
			j.float(`,"vocab_mean_norm":`, s.VocabMeanNorm)
			j.str(`,"source":`, s.Source)
			j.norms(`,"ratios":`, s.Ratios)
			j.b = append(j.b, '}')
		}
		j.b = append(j.b, ']')
	}
	if len(r.Nearest) > 0 {
		j.key(`,"nearest":`)
		for i, hits := range r.Nearest {
			sep := `,`
			if i == 0 {
				sep = `[`
			}
			j.key(sep)
			if hits == nil {
				j.null()
				continue
			}
			j.b = append(j.b, '[')
			for k, h := range hits {
				if k > 0 {
					j.b = append(j.b, ',')
				}
				j.integer(`{"id":`, int64(h.ID))
				j.str(`,"token":`, h.Token)
				j.float(`,"cos":`, h.Cos)
				j.b = append(j.b, '}')
			}
			j.b = append(j.b, ']')
		}
		j.b = append(j.b, ']')
	}
	j.strOmit(`,"nearest_key":`, r.NearestKey)
	j.b = append(j.b, '}')
	return j.b, !j.bad
}

// jsonWriter appends JSON values, each after its key (with the
// punctuation before it); bad records a value JSON cannot hold.
type jsonWriter struct {
	b   []byte
	bad bool
}

func (j *jsonWriter) key(k string) { j.b = append(j.b, k...) }

func (j *jsonWriter) null() { j.b = append(j.b, "null"...) }

func (j *jsonWriter) str(k, s string) {
	j.b = appendJSONString(append(j.b, k...), s)
}

func (j *jsonWriter) strOmit(k, s string) {
	if s != "" {
		j.str(k, s)
	}
}

func (j *jsonWriter) strPtr(k string, s *string) {
	if s == nil {
		j.key(k)
		j.null()
		return
	}
	j.str(k, *s)
}

// strs writes a string slice; nil is null, as encoding/json writes it.
func (j *jsonWriter) strs(k string, ss []string) {
	j.key(k)
	if ss == nil {
		j.null()
		return
	}
	j.b = append(j.b, '[')
	for i, s := range ss {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		j.b = appendJSONString(j.b, s)
	}
	j.b = append(j.b, ']')
}

func (j *jsonWriter) boolean(k string, v bool) {
	j.b = strconv.AppendBool(append(j.b, k...), v)
}

func (j *jsonWriter) integer(k string, v int64) {
	j.b = strconv.AppendInt(append(j.b, k...), v, 10)
}

// norms writes as norms.MarshalJSON does (nil is [], as encoding/json
// calls the method on a nil slice).
func (j *jsonWriter) norms(k string, n norms) {
	j.b = append(append(j.b, k...), '[')
	for i, x := range n {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		j.b = appendJSONFloat(j.b, x)
	}
	j.b = append(j.b, ']')
}

// summary writes as normSummary.MarshalJSON does; nil is left out
// (omitempty).
func (j *jsonWriter) summary(k string, s *normSummary) {
	if s == nil {
		return
	}
	j.b = appendJSONFloat(append(j.b, k+`{"min":`...), s.Min)
	j.b = appendJSONFloat(append(j.b, `,"mean":`...), s.Mean)
	j.b = appendJSONFloat(append(j.b, `,"max":`...), s.Max)
	j.b = append(j.b, '}')
}

// float writes a plain float64 field as encoding/json does (ES6 number
// form); a non-finite one makes the output bad.
func (j *jsonWriter) float(k string, f float64) {
	j.key(k)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		j.bad = true
		j.null()
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	j.b = strconv.AppendFloat(j.b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json
		if n := len(j.b); n >= 4 && j.b[n-4] == 'e' && j.b[n-3] == '-' && j.b[n-2] == '0' {
			j.b[n-2] = j.b[n-1]
			j.b = j.b[:n-1]
		}
	}
}

// appendJSONString appends s quoted as encoding/json does without HTML
// escaping: \" \\ \b \f \n \r \t, other control bytes as \u00XX, invalid
// UTF-8 as \ufffd, and U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
