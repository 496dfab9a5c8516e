package prompt

import (
	"fmt"
	"slices"

	"github.com/embtool/embtool/pkg/cliptok"
)

// Embedding is one textual inversion a prompt can name.
type Embedding struct {
	Name    string // the trigger: the file stem (A1111), or the name stored in an image
	Vectors int    // prompt slots it takes
	Path    string // where it was read from (for reports)
	ids     []int
}

// DB is A1111's EmbeddingDatabase lookup: names are matched by their
// token ids, candidates with the same first id tried longest first.
type DB struct {
	lookup map[int][]*Embedding
	byName map[string]*Embedding
	// Replaced lists registrations that replaced an earlier one of the
	// same name ("EasyNegative.pt" then "EasyNegative.safetensors").
	Replaced []string
	encode   Encoder
}

// Encoder tokenizes text: cliptok.EncodeA1111 (SD1, SDXL) or
// cliptok.Encode (SD2: A1111 uses open_clip's copy of OpenAI's tokenizer).
type Encoder func(text string) ([]int, error)

// NewDB returns an empty database whose names are tokenized with encode
// (nil: cliptok.EncodeA1111); use the encoder the prompt is counted with.
func NewDB(encode Encoder) *DB {
	if encode == nil {
		encode = cliptok.EncodeA1111
	}
	return &DB{lookup: map[int][]*Embedding{}, byName: map[string]*Embedding{}, encode: encode}
}

// Register adds an embedding as register_embedding_by_name does: a name
// already registered is replaced; a name with no tokens fails, as it does
// in A1111 (ids[0] of an empty list).
func (db *DB) Register(e Embedding) error {
	ids, err := db.encode(e.Name)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("name %q has no tokens (A1111 fails to load it)", e.Name)
	}
	if e.Vectors < 0 {
		return fmt.Errorf("%d vectors", e.Vectors)
	}
	e.ids = ids
	first := ids[0]
	list := db.lookup[first]
	if old, ok := db.byName[e.Name]; ok {
		db.Replaced = append(db.Replaced, fmt.Sprintf("%s: %s replaces %s", e.Name, e.Path, old.Path))
		// A1111 filters only the list of the new name's first id.
		list = slices.DeleteFunc(slices.Clone(list), func(x *Embedding) bool { return x.Name == e.Name })
	}
	list = append(list, &e)
	slices.SortStableFunc(list, func(a, b *Embedding) int { return len(b.ids) - len(a.ids) })
	db.lookup[first] = list
	db.byName[e.Name] = &e
	return nil
}

// Len is the number of names registered.
func (db *DB) Len() int { return len(db.byName) }

// Get returns the embedding registered under name.
func (db *DB) Get(name string) (*Embedding, bool) {
	e, ok := db.byName[name]
	return e, ok
}

// find is find_embedding_at_position.
func (db *DB) find(tokens []int, offset int) (*Embedding, int) {
	if db == nil {
		return nil, 0
	}
	for _, e := range db.lookup[tokens[offset]] {
		if offset+len(e.ids) <= len(tokens) && slices.Equal(tokens[offset:offset+len(e.ids)], e.ids) {
			return e, len(e.ids)
		}
	}
	return nil, 0
}
