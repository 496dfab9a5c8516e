package cliptok

import "testing"

const benchPrompt = "ng_deepnegative_v1_75t, (badhandv4:1.2), EasyNegative, (worst quality:2), (low quality:2), (normal quality:2), lowres, ((monochrome)), ((grayscale)), bad anatomy, DeepNegative, skin spots, acnes, skin blemishes, (fat:1.2), facing away, looking away, tilted head"

// BenchmarkEncode: a 60-word negative prompt, warm cache (the usual case).
func BenchmarkEncode(b *testing.B) {
	b.SetBytes(int64(len(benchPrompt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(benchPrompt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCold: the same with the per-word cache emptied each time.
func BenchmarkEncodeCold(b *testing.B) {
	b.SetBytes(int64(len(benchPrompt)))
	b.ReportAllocs()
	for b.Loop() {
		cacheMu.Lock()
		clear(cache)
		cacheMu.Unlock()
		if _, err := Encode(benchPrompt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadVocab: decoding the embedded vocabulary (done once).
func BenchmarkLoadVocab(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := loadVocab(vocabGz); err != nil {
			b.Fatal(err)
		}
	}
}
