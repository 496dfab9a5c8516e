package torchpt

import "testing"

func TestMemo(t *testing.T) {
	var m memo
	for i := uint64(0); i < 100; i++ {
		m.put(i, sym{text: "d"})
	}
	m.put(1<<31, sym{text: "far"})
	m.put(150, sym{text: "gap"})
	m.put(5, sym{text: "again"})
	m.put(1<<31, sym{text: "far2"})
	if m.len() != 102 {
		t.Fatalf("len %d, want 102", m.len())
	}
	if len(m.dense) > 2*m.len()+16 {
		t.Fatalf("dense slice of %d for %d entries", len(m.dense), m.len())
	}
	for idx, want := range map[uint64]string{0: "d", 5: "again", 99: "d", 150: "gap", 1 << 31: "far2"} {
		if x, ok := m.get(idx); !ok || x.text != want {
			t.Errorf("get(%d) = %q, %v; want %q", idx, x.text, ok, want)
		}
	}
	for _, idx := range []uint64{100, 149, 151, 1<<31 + 1, 1 << 63} {
		if m.has(idx) {
			t.Errorf("has(%d) for an index never stored", idx)
		}
	}
}
