package cliptok

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"
)

// The vocabulary's fixed shape (simple_tokenizer.py).
const (
	VocabSize = 49408 // 256 bytes, 256 bytes + "</w>", 48894 merges, 2 specials
	StartID   = 49406 // <|startoftext|>
	EndID     = 49407 // <|endoftext|>
	numMerges = 49152 - 256 - 2
	endOfWord = "</w>"
	startText = "<|startoftext|>"
	endText   = "<|endoftext|>"
)

//go:embed bpe_simple_vocab_16e6.txt.gz
var vocabGz []byte

// vocabulary is the decoded bpe_simple_vocab file.
type vocabulary struct {
	tokens  []string         // id → symbol string
	encoder map[string]int32 // symbol → id (later duplicates win, as a Python dict)
	merges  map[uint64]merge // (left id, right id) → rank and merged id
	byteID  [256]int32       // id of a byte's symbol
	byteEnd [256]int32       // id of a byte's symbol + "</w>"
}

type merge struct{ rank, id int32 }

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

var (
	vocabOnce sync.Once
	vocabVal  *vocabulary
	vocabErr  error
)

// vocab decodes the embedded vocabulary once.
func vocab() (*vocabulary, error) {
	vocabOnce.Do(func() { vocabVal, vocabErr = loadVocab(vocabGz) })
	return vocabVal, vocabErr
}

// byteSymbols is bytes_to_unicode(): byte → the rune standing for it, in
// the reference's order (printable Latin-1 first, then the rest mapped
// to 256+n).
var byteSymbols, symbolOrder = func() (m [256]rune, order [256]byte) {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := '¡'; b <= '¬'; b++ {
		bs = append(bs, int(b))
	}
	for b := '®'; b <= 'ÿ'; b++ {
		bs = append(bs, int(b))
	}
	in := make(map[int]bool, len(bs))
	for _, b := range bs {
		in[b] = true
	}
	cs := make([]int, len(bs))
	copy(cs, bs)
	n := 0
	for b := 0; b < 256; b++ {
		if !in[b] {
			bs = append(bs, b)
			cs = append(cs, 256+n)
			n++
		}
	}
	for i, b := range bs {
		m[b] = rune(cs[i])
		order[i] = byte(b)
	}
	return m, order
}()

// symbolByte inverts byteSymbols: rune → byte, ok=false for other runes.
func symbolByte(r rune) (byte, bool) {
	if r < 0 || r >= 512 {
		return 0, false
	}
	b, ok := runeToByte[r]
	return b, ok
}

var runeToByte = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b, r := range byteSymbols {
		m[r] = byte(b)
	}
	return m
}()

func loadVocab(gz []byte) (*vocabulary, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("cliptok: vocabulary: %w", err)
	}
	// The whole file is 1.7 MB; we read only the lines we use.
	br := bufio.NewReaderSize(io.LimitReader(zr, 8<<20), 64<<10)
	v := &vocabulary{
		tokens:  make([]string, 0, VocabSize),
		encoder: make(map[string]int32, VocabSize),
		merges:  make(map[uint64]merge, numMerges),
	}
	for _, b := range symbolOrder {
		v.tokens = append(v.tokens, string(byteSymbols[b]))
	}
	for _, b := range symbolOrder {
		v.tokens = append(v.tokens, string(byteSymbols[b])+endOfWord)
	}
	pairs := make([][2]string, 0, numMerges)
	for line := 0; len(pairs) < numMerges; line++ {
		s, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("cliptok: vocabulary: line %d: %w", line+1, err)
		}
		if line == 0 {
			continue // "#version: 0.2"
		}
		f := strings.Fields(s)
		if len(f) != 2 {
			return nil, fmt.Errorf("cliptok: vocabulary: line %d: want 2 symbols, got %d", line+1, len(f))
		}
		pairs = append(pairs, [2]string{f[0], f[1]})
		v.tokens = append(v.tokens, f[0]+f[1])
	}
	v.tokens = append(v.tokens, startText, endText)
	for i, t := range v.tokens {
		v.encoder[t] = int32(i)
	}
	for rank, p := range pairs {
		a, okA := v.encoder[p[0]]
		b, okB := v.encoder[p[1]]
		if !okA || !okB {
			return nil, fmt.Errorf("cliptok: vocabulary: merge %d (%q %q) names an unknown symbol", rank, p[0], p[1])
		}
		// dict(zip(merges, range(...))): a repeated pair keeps its last rank.
		v.merges[pairKey(a, b)] = merge{int32(rank), v.encoder[p[0]+p[1]]}
	}
	for b := 0; b < 256; b++ {
		v.byteID[b] = v.encoder[string(byteSymbols[b])]
		v.byteEnd[b] = v.encoder[string(byteSymbols[b])+endOfWord]
	}
	if len(v.tokens) != VocabSize {
		return nil, fmt.Errorf("cliptok: vocabulary: %d tokens, want %d", len(v.tokens), VocabSize)
	}
	return v, nil
}
