// Package vocab reads the token-embedding matrix of a Stable Diffusion
// text encoder (the vocabulary's 49408 word vectors) out of a user's own
// checkpoint, and answers questions about it: the vocabulary tokens nearest
// a vector by cosine, and the vocabulary's mean norm (a word's strength).
//
// Only the matrix is read: the safetensors header or the torch pickle is
// parsed to find it by key, then its bytes alone are loaded, so a 7 GB
// checkpoint costs the read of one 75–250 MB tensor.
//
// # Security
//
// Torch files are read through pkg/torchpt, which never runs a pickle and
// refuses unsafe ones. The matrix must be a 2-D float tensor of at most
// MaxRows rows, MaxWidth columns and MaxBytes bytes; anything else is an
// error naming the key and the shape.
package vocab
