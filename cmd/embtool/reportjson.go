package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/embtool/embtool/internal/jsonstr"
)

// The JSON of inspect --json is written by hand: encoding/json's
// reflection, and its second pass over what each MarshalJSON method
// returns, were 7% of inspect's CPU over a folder of small files. The
// bytes are those encoding/json writes for the same values with HTML
// escaping off (TestReportJSONMatchesEncodingJSON holds them equal).

// appendJSON appends r as one JSON object: an unreadable file as
// {"path", "ok": false, "kind", "error", …} (design.md §1), a readable one
// with every field.
func (r *report) appendJSON(b []byte) ([]byte, error) {
	if r.Container == "" {
		kind := r.Kind
		if kind == "" {
			kind = "unknown"
		}
		b = appendKey(b, '{', "path")
		b = jsonstr.AppendGo(b, r.Path)
		b = append(b, `,"ok":false`...)
		if r.Skipped {
			b = append(b, `,"skipped":true`...)
		}
		b = appendKey(b, ',', "kind")
		b = jsonstr.AppendGo(b, kind)
		b = appendKey(b, ',', "error")
		b = jsonstr.AppendGo(b, r.Error)
		b = appendOptString(b, "sha256", r.SHA256)
		b = appendOptString(b, "hash", r.Hash)
		if len(r.Unsafe) > 0 {
			b = appendKey(b, ',', "unsafe")
			b = appendStrings(b, r.Unsafe)
		}
		return append(b, '}'), nil
	}
	b = appendKey(b, '{', "path")
	b = jsonstr.AppendGo(b, r.Path)
	b = append(b, `,"ok":`...)
	b = strconv.AppendBool(b, r.OK)
	if r.Skipped {
		b = append(b, `,"skipped":true`...)
	}
	b = appendKey(b, ',', "kind")
	b = jsonstr.AppendGo(b, r.Kind)
	b = appendOptString(b, "error", r.Error)
	b = appendOptString(b, "name", r.Name)
	b = appendKey(b, ',', "stored_name")
	b = appendStringPtr(b, r.StoredName)
	b = appendOptString(b, "container", r.Container)
	b = appendOptString(b, "layout", r.Layout)
	b = appendOptString(b, "model", r.Model)
	b = append(b, `,"vectors":`...)
	b = strconv.AppendInt(b, int64(r.Vectors), 10)
	b = append(b, `,"width":`...)
	b = strconv.AppendInt(b, int64(r.Width), 10)
	b = appendOptString(b, "token", r.Token)
	b = appendKey(b, ',', "tensors")
	if r.Tensors == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Tensors {
			if i > 0 {
				b = append(b, ',')
			}
			t := &r.Tensors[i]
			b = appendKey(b, '{', "key")
			b = jsonstr.AppendGo(b, t.Key)
			b = appendKey(b, ',', "dtype")
			b = jsonstr.AppendGo(b, t.DType)
			b = appendKey(b, ',', "shape")
			b = appendInts(b, t.Shape)
			b = appendKey(b, ',', "norms")
			b = t.Norms.appendJSON(b)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendSummary(b, "norm", r.Norm)
	b = appendSummary(b, "norm_clip_l", r.NormClipL)
	b = appendSummary(b, "norm_clip_g", r.NormClipG)
	b = appendKey(b, ',', "step")
	if r.Step == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *r.Step, 10)
	}
	b = appendKey(b, ',', "sd_checkpoint")
	b = appendStringPtr(b, r.SDCheckpoint)
	b = appendKey(b, ',', "sd_checkpoint_name")
	b = appendStringPtr(b, r.SDCheckpointName)
	if len(r.Metadata) > 0 {
		keys := make([]string, 0, len(r.Metadata))
		for k := range r.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys) // as encoding/json orders a map
		for i, k := range keys {
			if i == 0 {
				b = appendKey(b, ',', "metadata")
				b = append(b, '{')
			} else {
				b = append(b, ',')
			}
			b = jsonstr.AppendGo(b, k)
			b = append(b, ':')
			b = jsonstr.AppendGo(b, r.Metadata[k])
		}
		b = append(b, '}')
	}
	b = appendOptString(b, "sha256", r.SHA256)
	b = appendOptString(b, "hash", r.Hash)
	b = appendKey(b, ',', "checksum")
	b = appendStringPtr(b, r.Checksum)
	if len(r.Unsafe) > 0 {
		b = appendKey(b, ',', "unsafe")
		b = appendStrings(b, r.Unsafe)
	}
	b = appendKey(b, ',', "warnings")
	if r.Warnings == nil {
		b = append(b, "null"...)
	} else {
		b = appendStrings(b, r.Warnings)
	}
	// --clip and --nearest are rare and slow anyway: encoding/json.
	var err error
	if len(r.Strength) > 0 {
		b = appendKey(b, ',', "strength")
		b, err = appendEncoded(b, r.Strength)
	}
	if len(r.Nearest) > 0 && err == nil {
		b = appendKey(b, ',', "nearest")
		b, err = appendEncoded(b, r.Nearest)
	}
	b = appendOptString(b, "nearest_key", r.NearestKey)
	return append(b, '}'), err
}

// appendKey appends sep and "key":.
func appendKey(b []byte, sep byte, key string) []byte {
	b = append(b, sep, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendOptString appends ,"key":"s" unless s is empty (omitempty).
func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return jsonstr.AppendGo(appendKey(b, ',', key), s)
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonstr.AppendGo(b, *s)
}

// appendStrings appends a JSON array of strings ([] when empty).
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.AppendGo(b, s)
	}
	return append(b, ']')
}

// appendInts appends a JSON array of ints, or null for a nil slice.
func appendInts(b []byte, xs []int) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return append(b, ']')
}

func appendSummary(b []byte, key string, s *normSummary) []byte {
	if s == nil {
		return b
	}
	b = appendKey(b, ',', key)
	return s.appendJSON(b)
}

// appendEncoded appends v as encoding/json writes it without HTML escaping.
func appendEncoded(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}
