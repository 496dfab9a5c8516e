// Package embplot draws embeddings with gonum.org/v1/plot (pure Go, no
// cgo): per-vector norms as bars (with the vocabulary's mean token norm as
// a line when known), each vector as a heat strip over its dimensions, and
// for several embeddings a heat map of the cosines between all their
// vectors. The picture is laid out for a 1200-pixel-wide PNG or an SVG.
//
// # Security
//
// The package draws vectors already decoded by pkg/embedding. The number
// of vectors drawn is capped (MaxVectors) so that a hostile file cannot
// make the picture, or the cosine matrix, arbitrarily large.
package embplot
