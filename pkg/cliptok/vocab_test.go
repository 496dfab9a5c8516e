package cliptok

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// byteSymbols is the reference's bytes_to_unicode(). The digests are of
// CPython's run of simple_tokenizer.bytes_to_unicode(): the UTF-8 of its
// 256 runes by byte value, and its keys in dict order.
func TestByteSymbols(t *testing.T) {
	bt := byteSymbols()
	var s []byte
	for b := 0; b < 256; b++ {
		s = append(s, string(bt.symbol[b])...)
	}
	if got, want := digest(s), "3bd96da9fcd14021199c10cd38baa447294f336f25d71c2881b5cfabaf6f7c28"; got != want {
		t.Errorf("symbols: sha256 %s, want %s", got, want)
	}
	if got, want := digest(bt.order[:]), "22e36c70d947b2e26fb24a69f928142601f3010b2f6a232e90fe60422efd1f3a"; got != want {
		t.Errorf("order: sha256 %s, want %s", got, want)
	}
	stands := 0
	for r := rune(-1); r < 700; r++ {
		b, ok := symbolByte(r)
		if !ok {
			continue
		}
		stands++
		if bt.symbol[b] != r {
			t.Errorf("symbolByte(%U) = %d, whose symbol is %U", r, b, bt.symbol[b])
		}
	}
	if stands != 256 {
		t.Errorf("%d runes stand for a byte, want 256", stands)
	}
	for _, r := range []rune{0, ' ', 0x7f, 0xad, 256 + 68, 511, 512, -1} {
		if b, ok := symbolByte(r); ok {
			t.Errorf("symbolByte(%U) = %d, want none", r, b)
		}
	}
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
