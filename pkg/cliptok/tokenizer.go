package cliptok

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Encode returns the ids of text as OpenAI's SimpleTokenizer.encode does
// (ftfy taken as the identity): html.unescape twice, whitespace cleaned,
// lower-cased, split by the reference's pattern, each piece byte-level
// BPE-encoded. No start or end id is added.
func Encode(text string) ([]int, error) {
	return encode(openAIClean(text))
}

// EncodeA1111 returns the ids AUTOMATIC1111's WebUI gets for text from
// the Hugging Face CLIPTokenizer, which it calls for SD1 and for SDXL's
// CLIP-L (tokenize_line calls it on each piece of the attention-parsed
// prompt; for SD2 and SDXL's OpenCLIP-G it calls open_clip's copy of the
// reference, that is [Encode]). That tokenizer never calls html.unescape;
// with ftfy installed (A1111 installs it, open-clip-torch requires it)
// it runs ftfy.fix_text, which decodes only HTML entities that end in
// ";", not at all from the first line holding a "<" on, and numeric
// references only when they do not decode to a ";". So "&amp;" is "&"
// in both, but "&amp" (no semicolon), "&#59;" and "&lt;3 <tag>" differ
// from Encode. ftfy's other repairs (curly quotes, ligatures, full-width
// forms, mojibake) are not reproduced: plain text does not need them.
func EncodeA1111(text string) ([]int, error) {
	return encode(pyLower(whitespaceClean(ftfyUnescape(text))))
}

// openAIClean is whitespace_clean(basic_clean(text)).lower().
func openAIClean(text string) string {
	return pyLower(whitespaceClean(pyStrip(pyUnescape(pyUnescape(text)))))
}

func encode(text string) ([]int, error) {
	v, err := vocab()
	if err != nil {
		return nil, err
	}
	text = strings.ToValidUTF8(text, "\ufffd")
	ids := make([]int, 0, len(text)/3+1)
	err = preTokens(text, func(tok string) error {
		p, err := v.bpe(tok)
		for _, id := range p {
			ids = append(ids, int(id))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// symbol returns the vocabulary's string for id: byte-level symbols,
// "</w>" marking a word's end ("cat</w>", "Ġ" stands for byte 0x20…).
func symbol(id int) (string, error) {
	v, err := vocab()
	if err != nil {
		return "", err
	}
	if id < 0 || id >= len(v.tokens) {
		return "", fmt.Errorf("cliptok: id %d out of range [0, %d)", id, len(v.tokens))
	}
	return v.tokens[id], nil
}

// ID returns the id of a vocabulary symbol ("cat</w>", ",</w>").
func ID(symbol string) (int, bool) {
	v, err := vocab()
	if err != nil {
		return 0, false
	}
	id, ok := v.encoder[symbol]
	return int(id), ok
}

// TokenText is the reference's decode([id]): the symbols turned back
// into bytes, decoded as UTF-8 (a broken sequence becomes U+FFFD, as
// Python's errors="replace"), "</w>" written as a space.
func TokenText(id int) (string, error) {
	return Decode([]int{id})
}

// Decode is the reference's decode(ids).
func Decode(ids []int) (string, error) {
	v, err := vocab()
	if err != nil {
		return "", err
	}
	var raw []byte
	for _, id := range ids {
		if id < 0 || id >= len(v.tokens) {
			return "", fmt.Errorf("cliptok: id %d out of range [0, %d)", id, len(v.tokens))
		}
		for _, r := range v.tokens[id] {
			b, ok := symbolByte(r)
			if !ok {
				return "", fmt.Errorf("cliptok: id %d: symbol %q has no byte", id, r)
			}
			raw = append(raw, b)
		}
	}
	return strings.ReplaceAll(pyDecodeUTF8(raw), endOfWord, " "), nil
}

// pyDecodeUTF8 is bytes.decode("utf-8", errors="replace"): one U+FFFD for
// each maximal prefix of a valid sequence, and for each other bad byte.
func pyDecodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || n > 1 {
			sb.WriteRune(r)
			i += n
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += invalidPrefix(b[i:])
	}
	return sb.String()
}

// invalidPrefix is how many bytes of b (which starts an invalid
// sequence) one U+FFFD stands for: the start byte and the continuation
// bytes that were still valid for it.
func invalidPrefix(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xbf)
	switch {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c == 0xe0:
		need, lo = 2, 0xa0
	case c >= 0xe1 && c <= 0xec, c == 0xee, c == 0xef:
		need = 2
	case c == 0xed:
		need, hi = 2, 0x9f
	case c == 0xf0:
		need, lo = 3, 0x90
	case c >= 0xf1 && c <= 0xf3:
		need = 3
	case c == 0xf4:
		need, hi = 3, 0x8f
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xbf
		n++
	}
	return n
}
