package torchpt

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

// npyPlainRegexp is the pattern plainNPYHeader implements by hand (the
// one embtool used before): the tests hold the parser to it.
var npyPlainRegexp = regexp.MustCompile(`^\{'descr': '[<>|=](?:b1|[iufc][1-9][0-9]*|[SUV][0-9]+|[Mm]8(?:\[[0-9]*[a-zA-Z]+\])?)', ` +
	`'fortran_order': (?:True|False), 'shape': \((?:[0-9]+,|[0-9]+(?:, [0-9]+)+)?\), \} *\n$`)

// npyHeaderSeeds are headers as numpy writes them (valid) and near
// misses of each part.
var npyHeaderSeeds = []string{
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }   \n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (8, 768), }\n",
	"{'descr': '>i8', 'fortran_order': True, 'shape': (), }\n",
	"{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3, 4), }           \n",
	"{'descr': '=u2', 'fortran_order': False, 'shape': (0,), }\n",
	"{'descr': '<c16', 'fortran_order': False, 'shape': (10,), }\n",
	"{'descr': '|S10', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<U0', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '|V8', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<M8', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<m8[25us]', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<m8[25]', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<m8[]', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<M8[ns', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<M9', 'fortran_order': False, 'shape': (3,), }\n",
	"{'descr': '<f0', 'fortran_order': False, 'shape': (1,), }\n",
	"{'descr': '<f', 'fortran_order': False, 'shape': (1,), }\n",
	"{'descr': '<S', 'fortran_order': False, 'shape': (1,), }\n",
	"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }    \n",
	"{'descr': 'f4', 'fortran_order': False, 'shape': (1,), }\n",
	"{'descr': '<b2', 'fortran_order': False, 'shape': (1,), }\n",
	"{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (1,), }\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '|O'}\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } \n ",
	"{'descr': '<f4', 'fortran_order': false, 'shape': (1,), }\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1), }\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2,), }\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1,2), }\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1, ), }\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (,), }\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\t\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (1,) }\n",
	"{'descr': '<f4', 'fortran_order': False, 'shape': (１,), }\n",
	"",
	"\n",
}

func TestPlainNPYHeader(t *testing.T) {
	valid := 0
	for _, h := range npyHeaderSeeds {
		want := npyPlainRegexp.MatchString(h)
		if got := plainNPYHeader([]byte(h)); got != want {
			t.Errorf("%q: %v, the regexp says %v", h, got, want)
		}
		if want {
			valid++
		}
	}
	if valid < 12 {
		t.Errorf("only %d seeds are plain headers", valid)
	}
}

// Random edits of the seeds, biased to the characters the grammar uses:
// the parser and the regexp agree on every one.
func TestPlainNPYHeaderMutations(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const alphabet = "{}[]()'<>|=:, \n\tbiufcSUVMm0189nsTrueFalse\x00\xff"
	n, plain := 200000, 0
	if testing.Short() {
		n = 20000
	}
	for i := 0; i < n; i++ {
		b := []byte(npyHeaderSeeds[rng.Intn(len(npyHeaderSeeds))])
		for k := rng.Intn(3) + 1; k > 0; k-- {
			c := alphabet[rng.Intn(len(alphabet))]
			switch j := rng.Intn(len(b) + 1); rng.Intn(3) {
			case 0: // insert
				b = append(b[:j], append([]byte{c}, b[j:]...)...)
			case 1: // replace
				if j < len(b) {
					b[j] = c
				}
			default: // delete
				if j < len(b) {
					b = append(b[:j], b[j+1:]...)
				}
			}
		}
		want := npyPlainRegexp.Match(b)
		if got := plainNPYHeader(b); got != want {
			t.Fatalf("%q: %v, the regexp says %v", b, got, want)
		}
		if want {
			plain++
		}
	}
	if plain < n/400 {
		t.Errorf("only %d of %d mutations are plain headers: the test explores too little", plain, n)
	}
}

func FuzzPlainNPYHeader(f *testing.F) {
	for _, h := range npyHeaderSeeds {
		f.Add(h)
	}
	f.Add(strings.Repeat(" ", 100))
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := plainNPYHeader([]byte(h)), npyPlainRegexp.MatchString(h); got != want {
			t.Errorf("%q: %v, the regexp says %v", h, got, want)
		}
	})
}
