package compare

import (
	"encoding/binary"
	"hash/maphash"
	"sort"
)

// Group relations.
const (
	Duplicates = "duplicates" // the same vectors (identical pairwise)
	NameClash  = "name-clash" // two files loaded under one trigger word
)

// Group is one finding over a folder: a set of duplicates, one
// containment (A contains B) or one name clash.
type Group struct {
	Relation string   `json:"relation"`
	Paths    []string `json:"paths,omitempty"`
	A        string   `json:"a,omitempty"`
	B        string   `json:"b,omitempty"`
	Rows     []Match  `json:"rows"`
	// At: for contains, the row of A holding each vector of B.
	At []int `json:"at,omitempty"`
	// Name clashes: the trigger word and the file each UI loads.
	Name    string `json:"name,omitempty"`
	A1111   string `json:"a1111,omitempty"`
	ComfyUI string `json:"comfyui,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Groups finds the duplicate sets and the containments among items by
// hashing rows (doc: Sameness): no all-pairs cosine. Items are indexed at
// every precision at least as coarse as their own; a pair is checked at
// the coarser of its two precisions.
func Groups(items []*Item) []Group {
	parent := make([]int, len(items))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// Duplicates: bucket whole files by the hash of their row hashes.
	for p := P32; p < numPrecisions; p++ {
		buckets := map[uint64][]int{}
		buf := make([]byte, 16)
		for i, it := range items {
			if it.Prec > p || it.Rows == 0 {
				continue
			}
			var h maphash.Hash
			h.SetSeed(seed)
			binary.LittleEndian.PutUint64(buf, uint64(it.Rows))
			binary.LittleEndian.PutUint64(buf[8:], uint64(it.Width))
			h.Write(buf)
			for _, k := range it.Keys(p) {
				binary.LittleEndian.PutUint64(buf, k)
				h.Write(buf[:8])
			}
			s := h.Sum64()
			buckets[s] = append(buckets[s], i)
		}
		for _, b := range buckets {
			for x := 0; x < len(b); x++ {
				for y := x + 1; y < len(b); y++ {
					i, j := b[x], b[y]
					if Coarser(items[i].Prec, items[j].Prec) == p && identical(items[i], items[j]) {
						parent[find(i)] = find(j)
					}
				}
			}
		}
	}
	var out []Group
	sets := map[int][]string{}
	for i := range items {
		r := find(i)
		sets[r] = append(sets[r], items[i].Path)
	}
	for _, paths := range sets {
		if len(paths) > 1 {
			sort.Strings(paths)
			out = append(out, Group{Relation: Duplicates, Paths: paths, Rows: []Match{}})
		}
	}
	// Containments: a row index per precision, probed with each file's
	// rarest non-zero row.
	type pair struct{ a, b int }
	seen := map[pair]bool{}
	for p := P32; p < numPrecisions; p++ {
		index := map[uint64][]int{}
		for i, it := range items {
			if it.Prec > p {
				continue
			}
			for _, k := range it.Keys(p) {
				l := index[k]
				if len(l) == 0 || l[len(l)-1] != i {
					index[k] = append(l, i)
				}
			}
		}
		for bi, b := range items {
			if b.Prec > p || b.Rows == 0 {
				continue
			}
			pivot := -1
			for r, k := range b.Keys(p) {
				if !b.zeroRow(r) && (pivot < 0 || len(index[k]) < len(index[b.Keys(p)[pivot]])) {
					pivot = r
				}
			}
			if pivot < 0 {
				continue // all zeros: contained in anything with a zero row
			}
			for _, ai := range index[b.Keys(p)[pivot]] {
				a := items[ai]
				if ai == bi || Coarser(a.Prec, b.Prec) != p || find(ai) == find(bi) || seen[pair{ai, bi}] {
					continue
				}
				at, ok := containsAt(a, b, p)
				if !ok {
					continue
				}
				seen[pair{ai, bi}] = true
				pr := ComparePair(a, b)
				out = append(out, Group{Relation: Contains, A: a.Path, B: b.Path, Rows: pr.Rows, At: at})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return groupKey(out[i]) < groupKey(out[j]) })
	return out
}

func groupKey(g Group) string {
	if len(g.Paths) > 0 {
		return g.Relation + "\x00" + g.Paths[0]
	}
	return g.Relation + "\x00" + g.A + "\x00" + g.B
}

// identical: same shape and row i the same vector as row i for every i.
func identical(a, b *Item) bool {
	if a.Rows != b.Rows || a.Width != b.Width {
		return false
	}
	for r := 0; r < a.Rows; r++ {
		if !SameRow(a, r, b, r) {
			return false
		}
	}
	return true
}

// containsAt reports whether every row of b is a row of a at precision p,
// and where (the first row of a for each row of b).
func containsAt(a, b *Item, p Precision) ([]int, bool) {
	if a.Width != b.Width {
		return nil, false
	}
	set := a.rowSet(p)
	at := make([]int, b.Rows)
	taken := map[int]bool{}
	for r, k := range b.Keys(p) {
		at[r] = -1
		// Successive copies in a for b's repeated vectors, as ComparePair.
		for _, ar := range set[k] {
			if SameRow(a, ar, b, r) && (at[r] < 0 || !taken[ar]) {
				at[r] = ar
				if !taken[ar] {
					break
				}
			}
		}
		if at[r] < 0 {
			return nil, false
		}
		taken[at[r]] = true
	}
	return at, true
}
