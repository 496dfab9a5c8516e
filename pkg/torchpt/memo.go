package torchpt

// memo is the pickle memo: indices as the pickle writes them (0, 1, 2, …)
// live in a slice, any others in a map made only for them, so that a
// pickle costs no map and a hostile index no memory beyond its entry.
type memo struct {
	dense  []sym // a slot holds an item when its stored is set
	sparse map[uint64]sym
	n      int // entries
}

func (m *memo) get(idx uint64) (sym, bool) {
	if idx < uint64(len(m.dense)) {
		x := m.dense[idx]
		ok := x.stored
		x.stored = false
		return x, ok
	}
	x, ok := m.sparse[idx]
	x.stored = false
	return x, ok
}

func (m *memo) has(idx uint64) bool {
	_, ok := m.get(idx)
	return ok
}

// put stores x at idx. The slice grows only to twice the entries stored
// (plus a few), so it stays proportional to the pickle's PUTs.
func (m *memo) put(idx uint64, x sym) {
	x.stored = true
	if idx < uint64(len(m.dense)) {
		if !m.dense[idx].stored {
			m.n++
		}
		m.dense[idx] = x
		return
	}
	if _, ok := m.sparse[idx]; ok {
		m.sparse[idx] = x
		return
	}
	if idx < uint64(2*m.n+16) {
		if m.dense == nil {
			m.dense = make([]sym, 0, 32)
		}
		for uint64(len(m.dense)) < idx {
			m.dense = append(m.dense, sym{})
		}
		m.dense = append(m.dense, x)
		m.n++
		return
	}
	if m.sparse == nil {
		m.sparse = map[uint64]sym{}
	}
	m.sparse[idx] = x
	m.n++
}

func (m *memo) len() int { return m.n }
