package pngembed

import (
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"io"
)

// Source says where an embedding was found in the image.
type Source string

// The two places an A1111 image embedding can be stored.
const (
	// SourceTextChunk is the sd-ti-embedding tEXt, zTXt or iTXt chunk.
	SourceTextChunk Source = "text-chunk"
	// SourcePixels is the data border drawn beside the preview picture.
	SourcePixels Source = "pixels"
)

// Result is a decoded image embedding.
type Result struct {
	// Source says which copy was decoded.
	Source Source
	// Chunk is the type of the text chunk (tEXt, zTXt or iTXt) when Source
	// is SourceTextChunk, else empty.
	Chunk string
	// Root is the decoded JSON object: for an A1111 embedding the keys
	// string_to_token, string_to_param, name, step, sd_checkpoint and
	// sd_checkpoint_name, with tensors as *tensor.Tensor.
	Root *Object
}

// Decode reads an image embedding from the PNG of size bytes in r. It
// decodes the sd-ti-embedding text chunk when there is one and the pixel
// border otherwise, as A1111 does. A valid PNG with neither gives an error
// wrapping ErrNotEmbedding; a text chunk that is present but malformed is
// an error, not a reason to try the pixels (A1111 fails on it too).
func Decode(r io.ReaderAt, size int64) (*Result, error) {
	info, err := scan(r, size)
	if err != nil {
		return nil, err
	}
	if info.text != nil {
		return decodeText(info.text)
	}
	res, err := decodeImage(r, size, info)
	var ne *NotEmbeddingError
	if errors.As(err, &ne) {
		return nil, &NotEmbeddingError{"no " + TextKeyword + " text chunk, and " + ne.Reason}
	}
	return res, err
}

// DecodeTextChunk reads an image embedding from the sd-ti-embedding text
// chunk only. A valid PNG without the chunk gives an error wrapping
// ErrNotEmbedding.
func DecodeTextChunk(r io.ReaderAt, size int64) (*Result, error) {
	info, err := scan(r, size)
	if err != nil {
		return nil, err
	}
	if info.text == nil {
		return nil, &NotEmbeddingError{"no " + TextKeyword + " text chunk"}
	}
	return decodeText(info.text)
}

// decodeImage decodes the pixels of a PNG whose chunks scan has checked
// and extracts the pixel border.
func decodeImage(r io.ReaderAt, size int64, info *pngInfo) (*Result, error) {
	if err := info.checkPixels(); err != nil {
		return nil, err
	}
	img, err := png.Decode(newPixelStream(r, size))
	if err != nil {
		return nil, &FormatError{Pkg: errPkg, Offset: -1, Msg: fmt.Sprintf("decoding pixels: %v", err), Err: err}
	}
	return decodePixels(img, info.colorType == 0 && info.depth == 16)
}

// decodeText decodes the base64 JSON of an sd-ti-embedding chunk.
func decodeText(c *textChunk) (*Result, error) {
	where := fmt.Sprintf("%s chunk %q", c.typ, TextKeyword)
	raw, err := decodeBase64(c.text)
	if err != nil {
		return nil, &FormatError{Pkg: errPkg, Record: where, Offset: c.off, Msg: err.Error(), Err: err}
	}
	root, err := parseJSON(raw)
	if err != nil {
		return nil, &FormatError{Pkg: errPkg, Record: where, Offset: c.off, Msg: err.Error(), Err: err}
	}
	return &Result{Source: SourceTextChunk, Chunk: c.typ, Root: root}, nil
}

// decodeBase64 decodes standard base64 with padding, as Python's
// base64.b64decode does, except that only ASCII whitespace is skipped:
// any other character outside the alphabet is an error (Python would
// silently drop it).
func decodeBase64(text []byte) ([]byte, error) {
	clean := make([]byte, 0, len(text))
	for i, c := range text {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			continue
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '=':
			clean = append(clean, c)
		default:
			return nil, fmt.Errorf("base64: invalid character %q at text offset %d", c, i)
		}
	}
	if len(clean) == 0 {
		return nil, errors.New("base64: the text is empty")
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return nil, fmt.Errorf("base64: %v", err)
	}
	return out[:n], nil
}
