package ordered

import (
	"slices"
	"testing"
)

func TestMap(t *testing.T) {
	var m Map[string, int]
	m.Set("b", 1)
	m.Set("a", 2)
	m.Set("b", 3) // first position, last value, as a Python dict
	m.Append("a", 4)
	if !slices.Equal(m.Keys, []string{"b", "a", "a"}) || !slices.Equal(m.Values, []int{3, 2, 4}) {
		t.Fatalf("map %v %v", m.Keys, m.Values)
	}
	if v, ok := m.Get("a"); !ok || v != 2 {
		t.Errorf("Get(a) = %v, %v; want the first entry, 2", v, ok)
	}
	if _, ok := m.Get("c"); ok || m.Len() != 3 {
		t.Errorf("Get(c) found, or Len %d != 3", m.Len())
	}
}

// TestGrow: after Grow(n), n appends keep the backing arrays.
func TestGrow(t *testing.T) {
	var m Map[string, int]
	m.Append("a", 1)
	m.Grow(3)
	k, v := &m.Keys[:1][0], &m.Values[:1][0]
	for i, s := range []string{"b", "c", "d"} {
		m.Append(s, i)
	}
	if &m.Keys[0] != k || &m.Values[0] != v || m.Len() != 4 {
		t.Errorf("Grow(3) then 3 appends reallocated, or lost entries: %v", m.Keys)
	}
}
