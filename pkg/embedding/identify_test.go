package embedding

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/identify"
)

// TestIdentifyAgrees: for every fixture and real embedding, what identify
// tells from the headers (layout, model, vectors × width) is what Decode
// finds in the tensors, so the two cannot drift apart. (An embedding
// drawn in a PNG's pixels is the exception: no header shows it.)
func TestIdentifyAgrees(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(ehFixtures, "*"))
	if dir := corpusDirOrEmpty(t); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "*"))
		paths = append(paths, more...)
	}
	checked := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		id := identify.File(bytes.NewReader(b), int64(len(b)), filepath.Base(p))
		e, err := Decode(bytes.NewReader(b), int64(len(b)), Options{})
		if err != nil {
			if id.Kind == identify.KindEmbedding && id.Err == nil && id.Layout != "" && id.Vectors > 0 {
				t.Errorf("%s: identified as %s, but Decode fails: %v", p, id.Description(), err)
			}
			continue
		}
		if id.Kind == identify.KindImage && id.PixelsUnread {
			continue // a pixel-border embedding: no header tells it
		}
		if id.Kind != identify.KindEmbedding {
			t.Errorf("%s: Decode reads an embedding, identify says %s", p, id.Kind)
			continue
		}
		if id.Layout != string(e.Layout) || id.Model != string(e.Model) || id.Vectors != e.Count || id.Width != e.Width {
			t.Errorf("%s: identify %s %s %d×%d, Decode %s %s %d×%d", p, id.Layout, id.Model, id.Vectors, id.Width, e.Layout, e.Model, e.Count, e.Width)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("only %d embeddings checked", checked)
	}
}

func corpusDirOrEmpty(t *testing.T) (dir string) {
	t.Run("corpus", func(t *testing.T) { dir = testcorpus.Dir(t) })
	return dir
}
