package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/embtool/embtool/pkg/embedding"
)

// embeddingExts are the extensions A1111 loads embeddings from (case-insensitive).
var embeddingExts = map[string]bool{".pt": true, ".bin": true, ".safetensors": true, ".png": true}

// pickleExts are what scan also walks into: every file that may hold a
// pickle (checkpoints, bare pickles, NumPy arrays) besides the embedding
// extensions.
var pickleExts = map[string]bool{".pt": true, ".bin": true, ".safetensors": true, ".png": true,
	".ckpt": true, ".pth": true, ".pkl": true, ".pickle": true, ".npy": true}

// isEmbeddingName reports whether a folder walk should read this file:
// one of exts, not a *.preview.png (A1111 skips those), not a temporary
// file of ours.
func isEmbeddingName(name string, exts map[string]bool) bool {
	if strings.HasPrefix(name, embedding.TempPrefix) {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	if !exts[ext] {
		return false
	}
	if ext == ".png" && strings.HasSuffix(strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name))), ".preview") {
		return false
	}
	return true
}

// errNoSuchPath: an argument that does not exist, in the same words on
// every system.
var errNoSuchPath = errors.New("no such file or folder")

// input is one path to process, or the error met finding it.
type input struct {
	path string
	// root is the folder argument the file was found under (the file's own
	// folder for a file argument): batch convert mirrors paths below it.
	root string
	// named: the file was named on the command line, not found by a walk.
	named bool
	err   error
}

// expandPaths turns the command line into files: a file is taken as given,
// whatever its name; a folder is walked recursively for files with one of
// the extensions exts,
// sorted by path so output order is stable.
func expandPaths(args []string, exts map[string]bool) []input {
	var out []input
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = errNoSuchPath // not Windows' "GetFileAttributesEx …: File not found."
			}
			out = append(out, input{path: arg, err: err, named: true})
			continue
		}
		if !st.IsDir() {
			out = append(out, input{path: arg, root: filepath.Dir(arg), named: true})
			continue
		}
		var found []input
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				found = append(found, input{path: p, err: err})
				return nil
			}
			if isEmbeddingName(d.Name(), exts) && isFile(p, d) {
				found = append(found, input{path: p, root: arg})
			}
			return nil
		})
		if err != nil {
			found = append(found, input{path: arg, err: err})
		}
		sort.Slice(found, func(i, j int) bool { return found[i].path < found[j].path })
		out = append(out, found...)
	}
	return out
}

// isFile accepts regular files and symlinks to them (A1111 follows links).
func isFile(p string, d fs.DirEntry) bool {
	if d.Type().IsRegular() {
		return true
	}
	if d.Type()&fs.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// runtimeFoldsCase: file names that differ only in case name one file
// (Windows, macOS by default), so two outputs so named collide.
const runtimeFoldsCase = runtime.GOOS == "windows" || runtime.GOOS == "darwin"
