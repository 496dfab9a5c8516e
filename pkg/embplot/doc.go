// Package embplot draws embeddings as a PNG (image/png) or a hand-written
// SVG, with no plotting library: per-vector norms as bars (with the
// vocabulary's mean token norm as a dashed, labelled line when known),
// each embedding's vectors as a heat strip over their dimensions (SDXL: a
// line at the clip_l/clip_g split), and for several embeddings a heat map
// of the cosines between all their vectors, each heat map with its colour
// scale (Moreland's cool-warm diverging map).
//
// The picture is 1200 pixels wide. Text uses X11's fixed 7×13 bitmap font
// (golang.org/x/image/font/basicfont, static data: nothing is parsed when
// the program starts); the SVG names a monospace font of the same metrics.
// The same input gives the same bytes.
//
// # Security
//
// The package draws vectors already decoded by pkg/embedding, but treats
// names and values as hostile:
//   - At most MaxVectors vectors are drawn over all embeddings, which
//     bounds the cosine matrix (MaxVectors²) and the heat strips; the rest
//     are left out with a note in the title.
//   - The picture is at most MaxHeight pixels tall (heat strips that do not
//     fit are left out, with a note), so its raster is at most
//     1200 × MaxHeight × 4 bytes.
//   - Heat maps are reduced to at most one cell per pixel before drawing,
//     whatever a row's width.
//   - Names are drawn as printable ASCII only (anything else becomes '?'),
//     cut to a fixed length, and XML-escaped in the SVG.
//   - NaN and ±Inf values are drawn (black, or the end colours; norms of
//     such vectors as 0, counted in the title) and never divide or index.
package embplot
