package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// oracleEnv names the serde_json oracle binary (scripts/serde_oracle), the
// JSON stage of the reference reader built from its own crates. Without it
// TestSerdeDifferential is skipped: CI has no Rust crates.
const oracleEnv = "EMBTOOL_SERDE_ORACLE"

// canonical renders a parsed header as the oracle prints it.
func canonical(h *header) string {
	var b strings.Builder
	b.WriteString("OK")
	es := slices.Clone(h.entries)
	slices.SortFunc(es, func(x, y rawEntry) int { return strings.Compare(x.name, y.name) })
	for _, e := range es {
		sh := make([]string, len(e.shape))
		for i, d := range e.shape {
			sh[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(&b, " %x:%s[%s][%d,%d]", e.name, e.dtype, strings.Join(sh, ", "), e.begin, e.end)
	}
	if h.metadata == nil {
		b.WriteString(" meta:none")
	} else {
		keys := make([]string, 0, len(h.metadata))
		for k := range h.metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString(" meta:{")
		for _, k := range keys {
			fmt.Fprintf(&b, "%x=%x;", k, h.metadata[k])
		}
		b.WriteString("}")
	}
	return b.String()
}

// goView is what Open's JSON stage makes of hdr: "OK ..." or "ERR msg".
func goView(hdr []byte) string {
	if !utf8.Valid(hdr) {
		return "ERR utf8"
	}
	h, err := parseHeader(hdr)
	if err != nil {
		return "ERR " + err.Error()
	}
	return canonical(h)
}

// headerSeeds are valid headers and near misses to mutate.
var headerSeeds = []string{
	`{"a":{"dtype":"F32","shape":[2,768],"data_offsets":[0,6144]}}`,
	`{"__metadata__":{"name":"x","step":"12"},"emb_params":{"dtype":"F16","shape":[8,768],"data_offsets":[0,12288]}}     `,
	`{"clip_g":{"dtype":"BF16","shape":[1,1280],"data_offsets":[0,2560]},"clip_l":{"dtype":"BF16","shape":[1,768],"data_offsets":[2560,4096]}}`,
	`{"__metadata__":null,"b":{"dtype":"U8","shape":[],"data_offsets":[0,1],"extra":[1,-0,1e2,{"k":null},true]}}`,
	"{\"caf\\u00e9\\ud83d\\ude00\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[0,0]}}\t\r\n ",
}

// splices are fragments a mutation inserts: JSON edge cases.
var splices = []string{
	"\x00", " ", "\t", "\n", "\r", "\v", "\f", "\ufeff", "\u00a0", "\x7f", "\xc0\x80", "\xed\xa0\x80",
	`\u0000`, `\ud800`, `\udc00`, `\ud83d\ude00`, `\/`, `\x`, `"`, `\`,
	"-0", "01", "1e2", "1E+2", "1.0", "1e308", "1.7976931348623157e308", "2e308", "1e-400",
	"18446744073709551615", "18446744073709551616", "-1", "+1", "NaN", "Infinity", "0x1",
	"true", "false", "null", "nul", "[]", "{}", "[[[[", "]]]]", ",", ":", ",,", "//", "/*", "*/",
	`"dtype":"F32",`, `"shape":[1],`, `"data_offsets":[0,4],`, `"__metadata__":{},`, `"__metadata__":null,`,
	`"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},`, `"x":1,`,
}

func mutate(rng *rand.Rand, s []byte) []byte {
	b := slices.Clone(s)
	for range 1 + rng.IntN(3) {
		if len(b) == 0 {
			b = append(b, '{')
		}
		i := rng.IntN(len(b) + 1)
		switch rng.IntN(6) {
		case 0: // insert a splice
			b = slices.Insert(b, i, []byte(splices[rng.IntN(len(splices))])...)
		case 1: // replace a byte with a splice
			if i < len(b) {
				b = slices.Replace(b, i, i+1, []byte(splices[rng.IntN(len(splices))])...)
			}
		case 2: // delete a few bytes
			j := min(len(b), i+1+rng.IntN(4))
			b = slices.Delete(b, i, j)
		case 3: // flip a bit
			if i < len(b) {
				b[i] ^= 1 << rng.IntN(8)
			}
		case 4: // duplicate a span
			j := min(len(b), i+rng.IntN(20))
			b = slices.Insert(b, j, b[i:j]...)
		case 5: // append trailing bytes
			b = append(b, splices[rng.IntN(len(splices))]...)
		}
	}
	return b
}

// knownStricter are the documented cases where Open refuses what serde
// accepts (doc.go): duplicate keys, the array form of an entry, numbers
// at the float64 limit.
func knownStricter(goErr string) bool {
	for _, s := range []string{"duplicate key", "entry must be an object", "too close to the float64 limit"} {
		if strings.Contains(goErr, s) {
			return true
		}
	}
	return false
}

// TestSerdeDifferential mutates headers and checks every one against the
// reference's serde_json: never may Open accept what serde refuses, nor
// read an accepted header differently; where Open alone refuses, it must
// be for a documented reason.
func TestSerdeDifferential(t *testing.T) {
	oracle := os.Getenv(oracleEnv)
	if oracle == "" {
		t.Skip("set " + oracleEnv + " to the scripts/serde_oracle binary")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	var inputs [][]byte
	for _, s := range headerSeeds {
		inputs = append(inputs, []byte(s))
	}
	for _, sp := range splices {
		inputs = append(inputs, []byte(headerSeeds[0]+sp), []byte(sp+headerSeeds[0]))
	}
	n := 20000
	if v, err := strconv.Atoi(os.Getenv(oracleEnv + "_MUTANTS")); err == nil {
		n = v
	}
	for len(inputs) < n {
		inputs = append(inputs, mutate(rng, []byte(headerSeeds[rng.IntN(len(headerSeeds))])))
	}
	var stdin bytes.Buffer
	for _, in := range inputs {
		stdin.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(in))))
		stdin.Write(in)
	}
	cmd := exec.Command(oracle)
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("oracle answered %d lines for %d inputs", len(lines), len(inputs))
	}
	var accepted, bothRefuse, stricter int
	for i, in := range inputs {
		want, got := lines[i], goView(in)
		switch {
		case strings.HasPrefix(want, "OK") && got == want:
			accepted++
		case strings.HasPrefix(want, "ERR") && strings.HasPrefix(got, "ERR"):
			bothRefuse++
		case strings.HasPrefix(want, "OK") && strings.HasPrefix(got, "ERR") && knownStricter(got):
			stricter++
		default:
			t.Errorf("header %q:\n  serde: %s\n  embtool: %s", in, want, got)
		}
	}
	t.Logf("%d headers: both accept alike %d, both refuse %d, embtool alone refuses (documented) %d",
		len(inputs), accepted, bothRefuse, stricter)
}
