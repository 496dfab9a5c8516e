package prompt

import (
	"math/rand"
	"reflect"
	"regexp"
	"testing"
)

// The regexps extraNetworks and hasEditing implement by hand (the ones
// embtool used before): the tests hold them to these.
var (
	reExtraNetwork = regexp.MustCompile(`<([\p{L}\p{N}_]+):([^>]+)>`)
	reEditing      = regexp.MustCompile(`\[[^\[\]]*(:[^\[\]]*\]|\|)|\bAND\b`)
)

var syntaxSeeds = []string{
	"", "a cat", "<lora:foo:0.8>", "a <lora:foo:0.8>, b <hypernet:x_1:1> c", "<lora:>", "<:x>", "<lora x:1>",
	"<lora:a<b>", "<<lora:a>>", "<lora:a", "<lora:a:b:c>d>", "<ローラ:重み>", "<lora٣:x>", "<l\xffra:x>", "<lora:\xff>",
	"<lora:\n>", "<a_b:c>", "< a:b>", "<a :b>", "<a:b> <c:d>", "<a:b><c:d>",
	"[a:b:10]", "[a|b]", "[a:b]", "[a]", "[:]", "[|", "[a:b", "a:b]", "[a[b:c]", "[a:b[c]", "[[a:b]]", "[\xff:\n]",
	"AND", "a AND b", "ANDY", "BAND", "_AND", "AND_", "(AND)", "and", "AN D", "ÄAND", "ANDé", "\xffAND\xff", "AND1", "1AND",
	"masterpiece, (best quality:1.2), [dog:cat:0.5] AND <lora:x:1> <emb:y>",
}

func TestSyntaxSeeds(t *testing.T) {
	for _, s := range syntaxSeeds {
		checkSyntax(t, s)
	}
}

func checkSyntax(t *testing.T, s string) {
	t.Helper()
	found, rest := extraNetworks(s)
	if want := reExtraNetwork.FindAllString(s, -1); !reflect.DeepEqual(found, want) {
		t.Errorf("extraNetworks(%q) found %q, the regexp %q", s, found, want)
	}
	if want := reExtraNetwork.ReplaceAllString(s, ""); rest != want {
		t.Errorf("extraNetworks(%q) left %q, the regexp %q", s, rest, want)
	}
	if got, want := hasEditing(s), reEditing.MatchString(s); got != want {
		t.Errorf("hasEditing(%q) = %v, the regexp %v", s, got, want)
	}
}

// Random edits of the seeds, biased to the characters the patterns use.
func TestSyntaxMutations(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"<", ">", ":", "[", "]", "|", "A", "N", "D", " ", "_", "a", "1", "\n", "\xff", "é", "٣", "\u3000"}
	n := 100000
	if testing.Short() {
		n = 10000
	}
	tags, edits := 0, 0
	for i := 0; i < n && !t.Failed(); i++ {
		s := syntaxSeeds[rng.Intn(len(syntaxSeeds))]
		for k := rng.Intn(4) + 1; k > 0; k-- {
			c := alphabet[rng.Intn(len(alphabet))]
			j := rng.Intn(len(s) + 1)
			switch rng.Intn(3) {
			case 0:
				s = s[:j] + c + s[j:]
			case 1:
				if j < len(s) {
					s = s[:j] + c + s[j+1:]
				}
			default:
				if j < len(s) {
					s = s[:j] + s[j+1:]
				}
			}
		}
		checkSyntax(t, s)
		if found, _ := extraNetworks(s); found != nil {
			tags++
		}
		if hasEditing(s) {
			edits++
		}
	}
	if tags < n/20 || edits < n/20 {
		t.Errorf("%d of %d with tags, %d with editing: the test explores too little", tags, n, edits)
	}
}

func FuzzSyntax(f *testing.F) {
	for _, s := range syntaxSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSyntax(t, s) })
}
