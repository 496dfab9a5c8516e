package compare

import (
	"path/filepath"
	"sort"
	"strings"
)

// File is one embedding file of a folder, for name clashes.
type File struct {
	Path string
	// Root is the embeddings folder it was found under.
	Root string
	// Name is the trigger word A1111 registers it under: the file name
	// without its last extension, or the name stored in a PNG.
	Name string
}

// comfyExts are the extensions ComfyUI tries after NAME, in order
// (comfy/sd1_clip.py load_embed); it does not load PNG embeddings.
var comfyExts = []string{".safetensors", ".pt", ".bin"}

// A1111Rule and ComfyRule say how each UI picks among clashing files.
const (
	A1111Rule = "A1111 (modules/textual_inversion/textual_inversion.py, load_from_dir) registers files in os.walk order and a later file replaces an earlier one of the same name: a subfolder's file wins over its parent folder's; within one folder the order is the file system's listing (alphabetical on Windows NTFS, arbitrary on Linux), so the pick shown assumes alphabetical order"
	ComfyRule = "ComfyUI (comfy/sd1_clip.py, load_embed) resolves embedding:NAME in the embeddings folder and each of its subfolders, in no fixed folder order, trying NAME, then NAME.safetensors, .pt, .bin; it does not load PNG embeddings"
)

// NameClashes groups the files that would load under one trigger word and
// says which file each UI picks. Names are compared exactly.
func NameClashes(files []File) []Group {
	byName := map[string][]File{}
	rootOrder := map[string]int{}
	for _, f := range files {
		byName[f.Name] = append(byName[f.Name], f)
		if _, ok := rootOrder[f.Root]; !ok {
			rootOrder[f.Root] = len(rootOrder)
		}
	}
	var out []Group
	for name, fs := range byName {
		if len(fs) < 2 {
			continue
		}
		sort.Slice(fs, func(i, j int) bool {
			if rootOrder[fs[i].Root] != rootOrder[fs[j].Root] {
				return rootOrder[fs[i].Root] < rootOrder[fs[j].Root]
			}
			return walkLess(rel(fs[i]), rel(fs[j]))
		})
		g := Group{Relation: NameClash, Name: name, Rows: []Match{}, A1111: fs[len(fs)-1].Path}
		for _, f := range fs {
			g.Paths = append(g.Paths, f.Path)
		}
		g.ComfyUI, g.Note = comfyPick(name, fs)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func rel(f File) string {
	r, err := filepath.Rel(f.Root, f.Path)
	if err != nil {
		return f.Path
	}
	return filepath.ToSlash(r)
}

// walkLess orders two paths as a top-down os.walk with sorted listings
// visits them: a folder's files before anything in its subfolders.
func walkLess(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; ; i++ {
		lastA, lastB := i == len(pa)-1, i == len(pb)-1
		if pa[i] != pb[i] || lastA || lastB {
			switch {
			case lastA && !lastB:
				return true // a file here comes before a subfolder's
			case lastB && !lastA:
				return false
			}
			return pa[i] < pb[i]
		}
	}
}

// comfyPick: the file ComfyUI loads for embedding:name, or "" with a note
// when the pick depends on folder order or no file is reachable.
func comfyPick(name string, fs []File) (string, string) {
	byDir := map[string][]File{}
	var dirs []string
	for _, f := range fs {
		base := filepath.Base(f.Path)
		ok := base == name
		for _, e := range comfyExts {
			ok = ok || base == name+e
		}
		if !ok {
			continue
		}
		d := filepath.Dir(f.Path)
		if _, seen := byDir[d]; !seen {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], f)
	}
	pickIn := func(d string) string {
		best, rank := "", len(comfyExts)+1
		for _, f := range byDir[d] {
			r := 0 // an exact file name is tried first
			if filepath.Base(f.Path) != name {
				for i, e := range comfyExts {
					if strings.HasSuffix(f.Path, e) {
						r = i + 1
					}
				}
			}
			if r < rank {
				best, rank = f.Path, r
			}
		}
		return best
	}
	switch len(dirs) {
	case 0:
		return "", "ComfyUI loads none of these by this name"
	case 1:
		if len(byDir[dirs[0]]) == 1 && len(fs) > 1 {
			return pickIn(dirs[0]), "A1111 only: ComfyUI reaches one of these files by this name"
		}
		return pickIn(dirs[0]), ""
	}
	var picks []string
	for _, d := range dirs {
		picks = append(picks, pickIn(d))
	}
	return "", "ComfyUI picks one of " + strings.Join(picks, ", ") + " depending on folder order"
}
