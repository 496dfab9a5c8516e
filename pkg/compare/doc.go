// Package compare tells how embeddings relate: two files vector by vector
// (best match and cosine for each vector), or a whole folder at once
// (duplicates, containments, name clashes).
//
// # Sameness
//
// Two vectors are the same vector when they have the same width and their
// values are bit-equal after both are rounded to the coarser dtype of the
// two files: F16 if either file is F16, BF16 if either is BF16 (or one is
// F16 and the other BF16), else F32 (an F64 file counts as F32). -0 equals
// +0. So an F32 embedding and its F16 conversion are the same, and so are
// a .pt and a .safetensors holding the same numbers; a vector merely
// pointing the same way (cosine 1 but another norm) is not the same vector.
// This exact criterion is what lets a folder be indexed by hashing instead
// of comparing every pair: rows are hashed at each precision and only
// hash hits are checked value by value.
//
// Two embeddings are identical when they have the same number of vectors
// and vector i of one is the same vector as vector i of the other, for
// every i. A contains B when every vector of B is the same vector as some
// vector of A. Cosines are computed in float64 from the stored values.
//
// # Security
//
// The package computes on vectors already decoded by pkg/embedding; it
// reads no file itself. Memory is proportional to the vectors given, plus
// one hash per row and precision.
package compare
