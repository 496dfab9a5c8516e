package cliptok

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
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

// byteTable is bytes_to_unicode(): byte → the rune standing for it, in
// the reference's order (printable Latin-1 first, then the rest mapped
// to 256+n), and its inverse.
type byteTable struct {
	symbol [256]rune  // byte → its rune
	order  [256]byte  // the bytes in the reference's order
	byteOf [512]int16 // rune → byte, -1 for a rune standing for none
}

// byteSymbols builds the table on first use (not at every start of a
// program that links this package).
var byteSymbols = sync.OnceValue(func() *byteTable {
	t := &byteTable{}
	printable := func(b int) bool {
		return ('!' <= b && b <= '~') || ('¡' <= b && b <= '¬') || ('®' <= b && b <= 'ÿ')
	}
	i := 0
	for b := 0; b < 256; b++ {
		if printable(b) {
			t.symbol[b], t.order[i] = rune(b), byte(b)
			i++
		}
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !printable(b) {
			t.symbol[b], t.order[i] = rune(256+n), byte(b)
			i++
			n++
		}
	}
	for r := range t.byteOf {
		t.byteOf[r] = -1
	}
	for b, r := range t.symbol {
		t.byteOf[r] = int16(b)
	}
	return t
})

// symbolByte inverts byteSymbols: rune → byte, ok=false for other runes.
func symbolByte(r rune) (byte, bool) {
	if r < 0 || r >= 512 {
		return 0, false
	}
	b := byteSymbols().byteOf[r]
	return byte(b), b >= 0
}

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
	bt := byteSymbols()
	for _, b := range bt.order {
		v.tokens = append(v.tokens, string(bt.symbol[b]))
	}
	for _, b := range bt.order {
		v.tokens = append(v.tokens, string(bt.symbol[b])+endOfWord)
	}
	for i, t := range v.tokens {
		v.encoder[t] = int32(i)
	}
	// A merge's two symbols are always earlier tokens, so the encoder can
	// grow as the merges are read; the final size check below proves the
	// symbols are unique, so this is Python's dict built afterwards.
	for line := 0; len(v.tokens) < 512+numMerges; line++ {
		s, err := br.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("cliptok: vocabulary: line %d: %w", line+1, err)
		}
		if line == 0 {
			continue // "#version: 0.2"
		}
		left, right, ok := bytes.Cut(bytes.TrimRight(s, "\r\n"), []byte{' '})
		if !ok || len(left) == 0 || len(right) == 0 || bytes.IndexByte(right, ' ') >= 0 {
			return nil, fmt.Errorf("cliptok: vocabulary: line %d: want 2 symbols", line+1)
		}
		a, okA := v.encoder[string(left)]
		b, okB := v.encoder[string(right)]
		if !okA || !okB {
			return nil, fmt.Errorf("cliptok: vocabulary: line %d (%q %q) names an unknown symbol", line+1, left, right)
		}
		joined := string(left) + string(right)
		id := int32(len(v.tokens))
		v.tokens = append(v.tokens, joined)
		v.encoder[joined] = id
		v.merges[pairKey(a, b)] = merge{id - 512, id}
	}
	v.tokens = append(v.tokens, startText, endText)
	v.encoder[startText], v.encoder[endText] = StartID, EndID
	if len(v.tokens) != VocabSize || len(v.encoder) != VocabSize {
		return nil, fmt.Errorf("cliptok: vocabulary: %d tokens, %d distinct, want %d", len(v.tokens), len(v.encoder), VocabSize)
	}
	for b := 0; b < 256; b++ {
		v.byteID[b] = v.encoder[string(bt.symbol[b])]
		v.byteEnd[b] = v.encoder[string(bt.symbol[b])+endOfWord]
	}
	return v, nil
}
