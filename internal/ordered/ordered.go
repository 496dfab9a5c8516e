// Package ordered holds embtool's one ordered map, Map: entries in
// insertion order, as a Python dict keeps them and as json.loads builds
// a JSON object. torchpt.Dict, pngembed.Object and the normalised
// top-level dicts of pkg/embedding and pkg/identify are all this type.
//
// # Security
//
// Get and Set are linear in the number of entries; the readers that fill
// a Map bound its size (see each reader's limits).
package ordered

import "slices"

// Map is an ordered map. Keys and Values have equal lengths; Keys[i]'s
// value is Values[i]. Keys compare with ==, so K = any must hold only
// comparable dynamic types (a Python dict's hashable keys).
type Map[K comparable, V any] struct {
	Keys   []K
	Values []V
}

// Get returns the value of key and whether m has it.
func (m *Map[K, V]) Get(key K) (V, bool) {
	for i, k := range m.Keys {
		if k == key {
			return m.Values[i], true
		}
	}
	var zero V
	return zero, false
}

// Set replaces the value of key, or appends key and value if m lacks it:
// a key set twice keeps the position of its first setting and the value
// of its last, as a Python dict does.
func (m *Map[K, V]) Set(key K, value V) {
	for i, k := range m.Keys {
		if k == key {
			m.Values[i] = value
			return
		}
	}
	m.Keys = append(m.Keys, key)
	m.Values = append(m.Values, value)
}

// Len is the number of entries.
func (m *Map[K, V]) Len() int { return len(m.Keys) }

// Append adds key and value at the end without looking for key: for
// readers that keep every entry as the file lists it.
func (m *Map[K, V]) Append(key K, value V) {
	m.Keys = append(m.Keys, key)
	m.Values = append(m.Values, value)
}

// Grow makes room for n more entries, so that n Appends or Sets of new
// keys do not reallocate.
func (m *Map[K, V]) Grow(n int) {
	m.Keys = slices.Grow(m.Keys, n)
	m.Values = slices.Grow(m.Values, n)
}
