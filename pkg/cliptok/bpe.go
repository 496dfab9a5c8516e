package cliptok

import (
	"errors"
	"fmt"
	"sync"
)

// MaxWordBytes bounds one pre-token (a run of letters or of punctuation):
// BPE is quadratic in its length (a random 1024-letter word takes about
// 20 ms). Prompts have words of tens of bytes.
const MaxWordBytes = 1024

// ErrWordTooLong: a pre-token is longer than MaxWordBytes.
var ErrWordTooLong = errors.New("cliptok: word too long")

// maxCacheEntries bounds the per-word cache; it is emptied when full.
const maxCacheEntries = 1 << 16

var (
	cacheMu sync.RWMutex
	cache   = map[string][]int32{}
)

// bpe returns the ids of one pre-token (its UTF-8 bytes), as the
// reference's bpe() followed by the encoder lookup.
func (v *vocabulary) bpe(word string) ([]int32, error) {
	switch word {
	case startText:
		return []int32{StartID}, nil
	case endText:
		return []int32{EndID}, nil
	}
	if len(word) > MaxWordBytes {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrWordTooLong, len(word), MaxWordBytes)
	}
	cacheMu.RLock()
	ids, ok := cache[word]
	cacheMu.RUnlock()
	if ok {
		return ids, nil
	}
	ids = v.merge(word)
	cacheMu.Lock()
	if len(cache) >= maxCacheEntries {
		clear(cache)
	}
	cache[word] = ids
	cacheMu.Unlock()
	return ids, nil
}

// merge is the reference's merge loop on ids: each round takes the pair
// of lowest rank and merges its occurrences left to right.
func (v *vocabulary) merge(word string) []int32 {
	syms := make([]int32, len(word))
	for i := 0; i < len(word); i++ {
		syms[i] = v.byteID[word[i]]
	}
	syms[len(word)-1] = v.byteEnd[word[len(word)-1]]
	for len(syms) > 1 {
		best := merge{rank: -1}
		var bestKey uint64
		for i := 0; i+1 < len(syms); i++ {
			k := pairKey(syms[i], syms[i+1])
			if m, ok := v.merges[k]; ok && (best.rank < 0 || m.rank < best.rank) {
				best, bestKey = m, k
			}
		}
		if best.rank < 0 {
			break
		}
		out := syms[:0]
		for i := 0; i < len(syms); {
			if i+1 < len(syms) && pairKey(syms[i], syms[i+1]) == bestKey {
				out = append(out, best.id)
				i += 2
				continue
			}
			out = append(out, syms[i])
			i++
		}
		syms = out
	}
	return syms
}
