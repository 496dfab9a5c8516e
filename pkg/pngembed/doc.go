// Package pngembed reads AUTOMATIC1111 image embeddings: PNG files that carry
// a textual-inversion embedding as base64 JSON in an "sd-ti-embedding" text
// chunk, or hidden in the low nibbles of a pixel border beside the preview
// picture (formats.md §6).
//
// [Decode] looks for the text chunk first (tEXt, zTXt or iTXt, the last one
// wins as in Pillow's Image.text) and falls back to the pixel border, which
// is what A1111's loader does. [DecodeTextChunk] uses the text chunk
// only. The JSON is decoded the way Python's json.loads with A1111's
// EmbeddingDecoder decodes it: NaN and Infinity literals are accepted, the
// last of duplicate keys wins, objects keep their key order, and every
// object holding a "TORCHTENSOR" key becomes a [tensor.Tensor] (F64, or I64
// when every number is an integer literal, as numpy builds it).
//
// The pixel path is bit-exact with A1111's extract_image_data_embed: the
// image is converted to 8-bit RGB as Pillow's convert("RGB") does (alpha
// dropped without compositing, gray and palette expanded, 16-bit samples
// reduced to their high byte except 16-bit gray, which Pillow clips to
// 255), cropped with crop_black, reduced to low nibbles, split at the
// outermost black columns, XORed with the A1111 LCG and inflated.
//
// There are two departures from A1111. When the outermost black columns
// leave data blocks of different (or zero) widths, where A1111 fails, the
// outermost pair leaving equal, non-empty blocks is tried. And the base64
// of the text chunk may contain ASCII whitespace but no other character
// outside the alphabet, which Python would drop silently.
//
// # Security
//
// The decoder treats every input as hostile and never panics. It reads only
// JSON, never a pickle. Every PNG chunk length is checked against the size
// of the input before anything is allocated for it and every chunk's CRC-32
// is verified. The embedding text chunk is capped at [MaxChunkSize] bytes
// and every zlib stream (zTXt, iTXt, pixel data) is inflated to at most
// [MaxInflated] bytes, measured before the output is allocated, so a
// compression bomb fails without taking memory. Image dimensions
// are checked against [MaxSide] and [MaxPixels], and the amount of IDAT data
// against the declared dimensions, before the pixels are decoded. The JSON
// parser limits nesting to [MaxDepth] levels and the whole document to
// [MaxElements] values; tensors must be rectangular and numeric. Memory use
// is therefore bounded by a small multiple of these caps whatever the input
// declares. Cost grows linearly with the number of chunks: the chunk walk
// reads its input in 64 KiB blocks, and the pixel decoder is given only the
// chunks it decodes, so a file of a million tiny chunks is no slower to
// read from disk than from memory and allocates nothing per chunk.
package pngembed
